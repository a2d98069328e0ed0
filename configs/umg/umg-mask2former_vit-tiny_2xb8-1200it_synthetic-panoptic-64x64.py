# Open-vocabulary panoptic segmentation on the synthetic world (docs/panoptic.md), small enough to
# train on two CPU cores in minutes: a tiny UMG-CLIP (2 blocks, width 64), a one-layer pixel
# decoder and a three-layer decoder, 64 px images. Trained on the SEEN classes only (the world's
# panoptic_train.json has no star, heart or brick); evaluated on ALL 17 classes, with PQ on seen and
# on held-out classes apart.
#   python tools/make_synthetic_data.py data/synthetic
#   bash tools/dist_train.sh configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py 2
#   python tools/test.py configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py work_dirs/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64/iter_1200.pth
# A backbone/text tower pretrained on the same world (issue 5's pretraining) plugs in with
#   --cfg-options model.clip.checkpoint=CKPT
# the model base inherits mmdet's COCO recipe: data, schedule and optimizer are replaced here
_base_ = ['../_base_/models/umg_mask2former_panoptic.py']

# the world's folder: environment variable UMG_SYNTHETIC_ROOT (default data/synthetic)
data_root = __import__('os').environ.get('UMG_SYNTHETIC_ROOT', 'data/synthetic') + '/'
image_size = (64, 64)
feat_channels = 32

# the world's vocabularies/ (see docs/synthetic_world.md); held out of training: star, heart, brick
# the classes: the world's vocabulary files, so that one config serves any held-out split
# (python tools/make_synthetic_data.py ... --held-out-things a,b --held-out-stuff c)
vocabularies = data_root + 'vocabularies/'
seen_classes = vocabularies + 'seen.txt'
# the test-time choices, tuned on the world's dev split (never val) by tools/tune_on_dev.py; the
# fields below read them from here, the record holds every candidate's dev score
tuning = dict(
    split='dev',
    record='docs/tuning/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.json',
    metric='coco_panoptic/PQ',
    values=dict(min_area=64, ensemble_alpha=0.6, ensemble_beta=0.6))
# void regions (the proposals leave held-out classes uncovered) named by dense CLIP, with
# held-out classes only (docs/panoptic.md#held-out-classes)
fallback = dict(type='UncoveredRegionFallback', min_area=tuning['values']['min_area'],
                seen_classes=seen_classes)

model = dict(
    data_preprocessor=dict(pad_size_divisor=16),
    vocabulary=dict(thing_classes=vocabularies + 'seen_things.txt',
                    stuff_classes=vocabularies + 'seen_stuff.txt'),
    # the tiny UMG-CLIP of configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py, so its
    # checkpoints plug in; add checkpoint=CKPT (none: tools/train.py refuses to train until the
    # towers' checkpoint is given; 'random': random towers on purpose)
    clip=dict(model_name='umg-vit-tiny-8'),
    backbone=dict(
        _delete_=True, type='UMGCLIPBackbone',
        out_type='dict', frozen_stages='all', out_indices=(1, 1, 2, 2),
        lora=dict(r=4, alpha=8, dropout=0., target_modules=('c_fc', 'c_proj'))),
    neck=dict(embed_dim=96, out_channels=feat_channels),
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
    ensemble=dict(seen_classes=seen_classes, alpha=tuning['values']['ensemble_alpha'],
                  beta=tuning['values']['ensemble_beta']),
    # None when tuned off (model.fallback=None: the head alone)
    fallback=None if tuning['values']['min_area'] is None else fallback,
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
    _delete_=True,
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='VocabularyCocoPanopticDataset', data_root=data_root,
        ann_file='annotations/panoptic_train.json',
        data_prefix=dict(img='images/train/', seg='annotations/panoptic_train/'),
        thing_classes=vocabularies + 'seen_things.txt',
        stuff_classes=vocabularies + 'seen_stuff.txt',
        filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=8, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VocabularyCocoPanopticDataset', data_root=data_root,
        ann_file='annotations/panoptic_val.json',
        data_prefix=dict(img='images/val/', seg='annotations/panoptic_val/'),
        thing_classes=vocabularies + 'things.txt', stuff_classes=vocabularies + 'stuff.txt',
        test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='OpenVocabPanopticMetric', seen_classes=seen_classes,
         ann_file=data_root + 'annotations/panoptic_val.json',
         seg_prefix=data_root + 'annotations/panoptic_val/', classwise=True, nproc=1),
    dict(type='PanopticSemanticIoUMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator

custom_hooks = [dict(type='VocabularyHook')]
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(custom_keys={
        'query_embed': dict(lr_mult=1.0, decay_mult=0.0),
        'query_feat': dict(lr_mult=1.0, decay_mult=0.0),
        'level_embed': dict(lr_mult=1.0, decay_mult=0.0)}, norm_decay_mult=0.0),
    clip_grad=dict(max_norm=0.01, norm_type=2))
max_iters = 1200
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[1000], gamma=0.1)
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='ProgressLoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(_delete_=True, type='AtomicCheckpointHook', by_epoch=False,
                    interval=max_iters, save_last=True))
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
# the backbone's global output and the unread pyramid level get no gradient
find_unused_parameters = True
# umg_mm's pictures (tools/test.py --show-dir): class names in any script, small images
# enlarged, a legend when names collide
visualizer = dict(type='UMGDetLocalVisualizer')
