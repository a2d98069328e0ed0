# ADE20K-150 validation (2,000 images; mmseg's ADE20KDataset: class 0 'other' is ignored).
# Test-time vocabulary 'ade20k_150'; 'seen' in the metric = names also in COCO-Stuff-171.
ade150_root = 'data/ade/ADEChallengeData2016'
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
        type='ADE20KDataset', data_root=ade150_root,
        metainfo=dict(vocabulary='ade20k_150'),
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='OpenVocabIoUMetric', iou_metrics=['mIoU'],
                     seen_classes='coco_stuff_171')
test_evaluator = val_evaluator
