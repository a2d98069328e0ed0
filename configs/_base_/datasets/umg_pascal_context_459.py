# Pascal Context-459 validation (5,105 images), label maps from
# tools/dataset_converters/pascal_context_459.py (16-bit, 65535 = unlabeled, vocabulary file
# pascal_context_459.txt beside them); the images stay in VOC2010/JPEGImages.
pc459_root = 'data/VOCdevkit/VOC2010/'
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
        type='VocabularySegDataset', vocabulary=pc459_root + 'pc459/pascal_context_459.txt',
        data_root=pc459_root, img_suffix='.jpg', seg_map_suffix='.png',
        ignore_index=ignore_index,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='pc459/annotations'),
        ann_file='ImageSets/SegmentationContext/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='OpenVocabIoUMetric', iou_metrics=['mIoU'], ignore_index=ignore_index,
                     seen_classes='coco_stuff_171')
test_evaluator = val_evaluator
