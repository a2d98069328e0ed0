# Zero-shot evaluation of the COCO-trained open-vocabulary panoptic model on ADE20K panoptic
# (150 classes: 100 things, 50 stuff): PQ, SQ, RQ (all, things, stuff) with mmdet's
# CocoPanopticMetric and mIoU of the same predictions. Only the test data change: the
# VocabularyHook hands the model ADE20K's class names, nothing is retrained.
#   python tools/dataset_converters/ade20k_panoptic.py data/ade/ADEChallengeData2016 \
#       data/ade/ADEChallengeData2016
#   python tools/test.py configs/umg/umg-mask2former_vit-b16_coco-panoptic_ade20k-panoptic.py work_dirs/umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic/iter_368750.pth
# With ADE20K converted by mmdet's own ade20k2coco.py instead, drop `metainfo` below (its names
# are then those of mmdet's ADE20KPanopticDataset).
_base_ = ['./umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic.py']

# regions no proposal covers (classes COCO never segmented) are named by the frozen UMG-CLIP's
# dense embeddings, with ADE20K classes outside COCO only (docs/panoptic.md#held-out-classes);
# not measured on ADE20K here. Off: --cfg-options model.fallback=None
model = dict(fallback=dict(type='UncoveredRegionFallback', min_area=64,
                           seen_classes='coco_panoptic_133'))

ade_root = 'data/ade/ADEChallengeData2016/'  # mmseg's ADE20K root: semantic and panoptic
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2560, 640), keep_ratio=True),
    dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
val_dataloader = dict(
    batch_size=1,
    dataset=dict(
        _delete_=True,
        type='ADE20KPanopticDataset',
        data_root=ade_root,
        ann_file='ade20k_panoptic_val.json',
        data_prefix=dict(img='images/validation/', seg='ade20k_panoptic_val/'),
        # the class lists umg_mm's converter writes (names with their synonyms, things first)
        metainfo=dict(classes=ade_root + 'ade20k_panoptic_classes.txt',
                      thing_classes=ade_root + 'ade20k_panoptic_things.txt',
                      stuff_classes=ade_root + 'ade20k_panoptic_stuff.txt'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='CocoPanopticMetric', ann_file=ade_root + 'ade20k_panoptic_val.json',
         seg_prefix=ade_root + 'ade20k_panoptic_val/'),
    dict(type='PanopticSemanticIoUMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator
# ADE20K's names are already text: no renaming
custom_hooks = [dict(type='VocabularyHook')]
