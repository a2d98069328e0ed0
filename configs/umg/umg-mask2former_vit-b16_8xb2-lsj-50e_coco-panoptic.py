# Open-vocabulary panoptic segmentation: frozen UMG-CLIP ViT-B/16 (+LoRA on the MLPs) with
# mmdet's Mask2Former pixel decoder and decoder, queries classified against the text embeddings
# of the vocabulary, trained on COCO panoptic (133 classes) with large-scale jitter as mmdet's
# mask2former_r50_8xb2-lsj-50e_coco-panoptic.py (8 GPUs x 2 images, 368,750 iterations).
#   bash tools/dist_train.sh configs/umg/umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic.py 8
#   python tools/test.py configs/umg/umg-mask2former_vit-b16_coco-panoptic_ade20k-panoptic.py work_dirs/umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic/iter_368750.pth
# Set clip_checkpoint to the UMG-CLIP file both towers start from (and keep it in the two places
# below, which mmengine fills in when it parses this file).
_base_ = [
    '../_base_/models/umg_mask2former_panoptic.py', 'mmdet::_base_/datasets/coco_panoptic.py',
    'mmdet::_base_/default_runtime.py'
]
clip_checkpoint = 'checkpoints/umg_clip_vit_b16.pth'
image_size = (1024, 1024)
batch_augments = [
    dict(type='BatchFixedSizePad', size=image_size, img_pad_value=0, pad_mask=True,
         mask_pad_value=0, pad_seg=True, seg_pad_value=255)
]
model = dict(
    data_preprocessor=dict(batch_augments=batch_augments),
    backbone=dict(
        checkpoint=clip_checkpoint,
        pyramid_neck=dict(type='Feature2Pyramid', rescales=(4, 2, 1, 0.5),
                          norm_cfg=dict(type='SyncBN', requires_grad=True))),
    panoptic_head=dict(classifier=dict(text_encoder=dict(checkpoint=clip_checkpoint))),
    ensemble=dict(alpha=0.4, beta=0.8, seen_classes='coco_panoptic_133'))

data_root = 'data/coco/'
train_pipeline = [
    dict(type='LoadImageFromFile', to_float32=True),
    dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True),
    dict(type='RandomFlip', prob=0.5),
    # large-scale jittering
    dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=image_size, crop_type='absolute', recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_evaluator = [
    dict(type='CocoPanopticMetric', ann_file=data_root + 'annotations/panoptic_val2017.json',
         seg_prefix=data_root + 'annotations/panoptic_val2017/'),
    # mIoU of the same predictions' class maps
    dict(type='PanopticSemanticIoUMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator

# the model classifies over each loop's dataset classes; COCO's names read as CLIP-friendly text
custom_hooks = [dict(type='DatasetVocabularyHook', texts='coco_panoptic_133')]

embed_multi = dict(lr_mult=1.0, decay_mult=0.0)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        custom_keys={
            'query_embed': embed_multi,
            'query_feat': embed_multi,
            'level_embed': embed_multi,
            'void_embedding': embed_multi,
            'logit_scale': dict(lr_mult=1.0, decay_mult=0.0),
        },
        norm_decay_mult=0.0),
    clip_grad=dict(max_norm=0.01, norm_type=2))

max_iters = 368750
param_scheduler = dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
                       milestones=[327778, 355092], gamma=0.1)
interval = 5000
dynamic_intervals = [(max_iters // interval * interval + 1, max_iters)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=interval,
                 dynamic_intervals=dynamic_intervals)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, save_last=True, max_keep_ckpts=3,
                    interval=interval, save_best='coco_panoptic/PQ', rule='greater'))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)
# frozen CLIP parameters and the backbone's global output get no gradient
find_unused_parameters = True
