# A few-iteration run of a tiny UMG-CLIP semantic segmentor (closed vocabulary, stock mmseg
# EncoderDecoder + FCNHead) on the synthetic world: checks set-up, launching, distribution and
# resuming in a minute on a CPU.
#   python tools/make_synthetic_data.py data/synthetic
#   bash tools/dist_train.sh configs/umg/fcn_umg-clip-vit-tiny_2xb4-8it_synthetic-64x64.py 2
#   python tools/train.py configs/umg/fcn_umg-clip-vit-tiny_2xb4-8it_synthetic-64x64.py --resume \
#       --cfg-options train_cfg.max_iters=12
_base_ = ['../_base_/umg_mmseg_runtime.py']
custom_imports = dict(imports=['umg_mm'], allow_failed_imports=False)

data_root = __import__('os').environ.get('UMG_SYNTHETIC_ROOT', 'data/synthetic')
# the synthetic world's vocabularies/all.txt (things, then stuff)
classes = ('circle', 'square', 'triangle', 'star', 'hexagon', 'ring', 'cross', 'heart', 'diamond',
           'crescent', 'sky', 'grass', 'water', 'sand', 'brick', 'snow', 'wood')
crop_size = (64, 64)

model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        # CLIP's normalisation, in 0-255 pixel units
        mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=crop_size),
    backbone=dict(
        type='UMGCLIPBackbone',
        model_name='umg-vit-nano-8',  # umg_mm/models/clip_configs: 2 blocks, width 64
        out_type='intermediates', out_indices=(0, 0, 1, 1), frozen_stages=-1,
        checkpoint='random'),  # from scratch, all of it trained
    # the blocks at strides 2, 4, 8, 16 (mmseg's Feature2Pyramid)
    neck=dict(type='CLIPPyramidNeck', embed_dim=64, norm_cfg=dict(type='BN')),
    decode_head=dict(
        type='FCNHead', in_channels=64, in_index=2, channels=32, num_convs=1,
        concat_input=False, dropout_ratio=0., num_classes=len(classes),
        norm_cfg=dict(type='BN', requires_grad=True), align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
dataset = dict(type='BaseSegDataset', data_root=data_root, metainfo=dict(classes=classes),
               img_suffix='.jpg', seg_map_suffix='.png')
train_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**dataset, data_prefix=dict(img_path='images/train', seg_map_path='seg_maps/train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, data_prefix=dict(img_path='images/val', seg_map_path='seg_maps/val'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=8, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='ProgressLoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=4),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# the pyramid levels the head does not read get no gradient
find_unused_parameters = True
