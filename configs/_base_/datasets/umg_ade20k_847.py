# ADE20K-847 validation (2,000 images), from the full ADE20K release through
# tools/dataset_converters/ade20k_847.py (16-bit label maps, 65535 = unlabeled, and the
# vocabulary file ade20k_847.txt beside them; see docs/dataset_converters.md).
ade847_root = 'data/ade847'
ignore_index = 65535  # unlabeled pixels: the dataset's label check and the metric agree
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeShortestEdge', scale=(640, 640), max_size=2560),
    dict(type='LoadWideSegAnnotations'),
    dict(type='PackSegInputs')
]
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VocabularySegDataset', vocabulary=ade847_root + '/ade20k_847.txt',
        data_root=ade847_root, img_suffix='.jpg', seg_map_suffix='.png',
        ignore_index=ignore_index,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='OpenVocabIoUMetric', iou_metrics=['mIoU'], ignore_index=ignore_index,
                     seen_classes='coco_stuff_171')
test_evaluator = val_evaluator
