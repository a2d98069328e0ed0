# COCO-Stuff-164k, 171 classes: the open-vocabulary training set (mmseg's COCOStuffDataset;
# prepare it with mmseg's tools/dataset_converters/coco_stuff164k.py). Its vocabulary,
# 'coco_stuff_171', has COCO's names made readable ('wall-other-merged' -> 'wall').
coco_stuff_root = 'data/coco_stuff164k'
coco_stuff_vocabulary = 'coco_stuff_171'
crop_size = (640, 640)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomChoiceResize', scales=[int(640 * x * 0.1) for x in range(5, 21)],
         resize_type='ResizeShortestEdge', max_size=2560),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeShortestEdge', scale=crop_size, max_size=2560),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='COCOStuffDataset', data_root=coco_stuff_root,
        metainfo=dict(vocabulary=coco_stuff_vocabulary),
        data_prefix=dict(img_path='images/train2017', seg_map_path='annotations/train2017'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='COCOStuffDataset', data_root=coco_stuff_root,
        metainfo=dict(vocabulary=coco_stuff_vocabulary),
        data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
