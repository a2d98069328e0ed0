# The project's model on the synthetic world (docs/synthetic_world.md), small enough for a CPU:
# trained on the SEEN classes only (the world's panoptic_train.json has none of its held-out ones),
# tested on all 17 with PQ on seen and held-out classes apart. The tiny UMG-CLIP of
# configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py (frozen, LoRA on its MLPs) and mmdet's stock
# Mask2Former head made lighter (32 channels instead of 256, 20 queries instead of 100, 1
# pixel-decoder layer instead of 6, 3 decoder layers instead of 9, 1,024 sampled points per mask),
# 64 px images, 8 per batch, 600 iterations. Both towers' weights:
#   --cfg-options model.clip.checkpoint=CKPT
#   python tools/make_synthetic_data.py data/synthetic
#   python tools/train.py projects/umg_mask2former_panoptic/configs/umg-mask2former_clip-tiny_synthetic-64x64.py \
#       --cfg-options model.clip.checkpoint=work_dirs/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64/iter_600.pth
_base_ = ['./umg-mask2former_vit-b16-lora_8xb2-lsj-50e_coco-panoptic.py']

data_root = __import__('os').environ.get('UMG_SYNTHETIC_ROOT', 'data/synthetic') + '/'
image_size = (64, 64)
feat_channels = 32
# the classes: the world's vocabulary files, so that any held-out split works unchanged
vocabularies = data_root + 'vocabularies/'

model = dict(
    data_preprocessor=dict(batch_augments=[
        dict(type='BatchFixedSizePad', size=image_size, img_pad_value=0, pad_mask=True,
             mask_pad_value=0, pad_seg=True, seg_pad_value=255)
    ]),
    vocabulary=dict(thing_classes=vocabularies + 'seen_things.txt',
                    stuff_classes=vocabularies + 'seen_stuff.txt'),
    clip=dict(model_name='umg-vit-tiny-8'),  # umg_mm/models/clip_configs/umg-vit-tiny-8.json
    backbone=dict(out_indices=(1, 1, 2, 2),
                  lora=dict(r=4, alpha=8)),
    neck=dict(embed_dim=96, norm_cfg=dict(type='BN', requires_grad=True),
              out_channels=feat_channels),
    text_encoder=dict(templates=['{}', 'a {}', 'a picture of a {}']),
    panoptic_head=dict(
        in_channels=[feat_channels] * 4,
        feat_channels=feat_channels,
        out_channels=feat_channels,
        num_queries=20,
        pixel_decoder=dict(
            norm_cfg=dict(type='GN', num_groups=8),
            encoder=dict(
                num_layers=1,
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=feat_channels, num_heads=2, num_points=2),
                    ffn_cfg=dict(embed_dims=feat_channels, feedforward_channels=64))),
            positional_encoding=dict(num_feats=feat_channels // 2)),
        positional_encoding=dict(num_feats=feat_channels // 2),
        transformer_decoder=dict(
            num_layers=3,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=feat_channels, num_heads=2),
                cross_attn_cfg=dict(embed_dims=feat_channels, num_heads=2),
                ffn_cfg=dict(embed_dims=feat_channels, feedforward_channels=64)))),
    train_cfg=dict(num_points=1024))

train_pipeline = [
    dict(type='LoadImageFromFile', to_float32=True),
    dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=image_size, crop_type='absolute', recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(
        _delete_=True, type='VocabularyCocoPanopticDataset', data_root=data_root,
        ann_file='annotations/panoptic_train.json',
        data_prefix=dict(img='images/train/', seg='annotations/panoptic_train/'),
        thing_classes=vocabularies + 'seen_things.txt',
        stuff_classes=vocabularies + 'seen_stuff.txt',
        filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(
        _delete_=True, type='VocabularyCocoPanopticDataset', data_root=data_root,
        ann_file='annotations/panoptic_val.json',
        data_prefix=dict(img='images/val/', seg='annotations/panoptic_val/'),
        thing_classes=vocabularies + 'things.txt', stuff_classes=vocabularies + 'stuff.txt',
        test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='OpenVocabPanopticMetric', seen_classes=vocabularies + 'seen.txt',
         ann_file=data_root + 'annotations/panoptic_val.json',
         seg_prefix=data_root + 'annotations/panoptic_val/', nproc=1),
    dict(type='PanopticSemanticIoUMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator
custom_hooks = [dict(type='VocabularyHook')]  # the synthetic world's names as they are

optim_wrapper = dict(optimizer=dict(lr=1e-3))
max_iters = 600
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[500], gamma=0.1)
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_iters))
