# Pascal VOC-20 validation (VOC2012 val, 1,449 images): the 20 object classes without
# background. reduce_zero_label=True turns background (0) into ignore (255) and the objects
# into 0..19, the lines of the 'pascal_voc_20' vocabulary. For VOC-21 (background scored) use
# vocabulary='pascal_voc_21' with reduce_zero_label=False: 'background' is then a text class.
voc_root = 'data/VOCdevkit/VOC2012'
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeShortestEdge', scale=(640, 640), max_size=2560),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VocabularySegDataset', vocabulary='pascal_voc_20', reduce_zero_label=True,
        data_root=voc_root, img_suffix='.jpg', seg_map_suffix='.png',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='OpenVocabIoUMetric', iou_metrics=['mIoU'],
                     seen_classes='coco_stuff_171')
test_evaluator = val_evaluator
