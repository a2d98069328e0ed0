# Pascal Context-59 validation (5,105 images; mmseg's PascalContextDataset59, prepared with
# mmseg's tools/dataset_converters/pascal_context.py). Background (label 0) is ignored, as in
# the open-vocabulary benchmark protocol: only the 59 named classes are scored.
pc59_root = 'data/VOCdevkit/VOC2010/'
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeShortestEdge', scale=(640, 640), max_size=2560),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='PascalContextDataset59', data_root=pc59_root,
        metainfo=dict(vocabulary='pascal_context_59'),
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
        ann_file='ImageSets/SegmentationContext/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='OpenVocabIoUMetric', iou_metrics=['mIoU'],
                     seen_classes='coco_stuff_171')
test_evaluator = val_evaluator
