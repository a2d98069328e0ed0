# The project's recipe on a fully supervised synthetic world (closed vocabulary, all 17 classes in
# the training label maps), small enough for a CPU: the tiny UMG-CLIP of
# configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py (frozen, LoRA on its MLPs), mmseg's stock Mask2Former
# head made lighter (64 channels instead of 256, 20 queries instead of 100, 2 pixel-decoder layers
# instead of 6, 3 decoder layers instead of 9, 1,024 sampled points per mask instead of 12,544: the
# stock sizes took 10 s per iteration on the shared 2-core CPU), 64 px images, 8 per batch, 400
# iterations. The backbone's weights: --cfg-options model.backbone.checkpoint=CKPT
#   python tools/make_synthetic_data.py data/synthetic_closed --held-out-things none --held-out-stuff none
#   UMG_SYNTHETIC_ROOT=data/synthetic_closed python tools/train.py \
#       projects/umg_backbone_ade20k_semseg/configs/umg-clip-tiny_mask2former_synthetic-closed-64x64.py \
#       --cfg-options model.backbone.checkpoint=work_dirs/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64/iter_600.pth
_base_ = ['./umg-vit-b16-lora_mask2former_8xb2-160k_ade20k-512x512.py']

data_root = __import__('os').environ.get('UMG_SYNTHETIC_ROOT', 'data/synthetic_closed') + '/'
crop_size = (64, 64)
num_classes = 17
feat_channels = 64

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(model_name='umg-vit-tiny-8', out_indices=(1, 1, 2, 2),
                  lora=dict(r=4, alpha=8)),
    neck=dict(embed_dim=96, norm_cfg=dict(type='BN', requires_grad=True),
              out_channels=feat_channels),
    decode_head=dict(
        num_classes=num_classes,
        in_channels=[feat_channels] * 4,
        feat_channels=feat_channels,
        out_channels=feat_channels,
        num_queries=20,
        pixel_decoder=dict(
            encoder=dict(
                num_layers=2,
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=feat_channels, num_heads=4),
                    ffn_cfg=dict(embed_dims=feat_channels,
                                 feedforward_channels=4 * feat_channels))),
            positional_encoding=dict(num_feats=feat_channels // 2)),
        positional_encoding=dict(num_feats=feat_channels // 2),
        transformer_decoder=dict(
            num_layers=3,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=feat_channels, num_heads=4),
                cross_attn_cfg=dict(embed_dims=feat_channels, num_heads=4),
                ffn_cfg=dict(embed_dims=feat_channels, feedforward_channels=4 * feat_channels))),
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])),
    train_cfg=dict(num_points=1024))

classes = data_root + 'vocabularies/all.txt'  # one class per line; label = line number
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(
        _delete_=True, type='BaseSegDataset', data_root=data_root, metainfo=dict(classes=classes),
        data_prefix=dict(img_path='images/train', seg_map_path='seg_maps/train'),
        img_suffix='.jpg', seg_map_suffix='.png', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(
        _delete_=True, type='BaseSegDataset', data_root=data_root, metainfo=dict(classes=classes),
        data_prefix=dict(img_path='images/val', seg_map_path='seg_maps/val'),
        img_suffix='.jpg', seg_map_suffix='.png', pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 400
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters,
                        by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=max_iters, save_best='mIoU'))
