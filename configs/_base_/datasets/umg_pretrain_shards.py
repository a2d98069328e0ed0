# UMG-41M-style pretraining data in WebDataset shards (per-image UMG JSON beside each image),
# zero-shot evaluation on a UMG-format validation set (e.g. COCO val2017 converted by
# tools/dataset_converters/coco2umg.py). Paths are variables: set them in the final config.
train_shards = 'data/umg41m/shards/umg-{000000..004099}.tar'
num_train_samples = 41_000_000
val_data_root = 'data/coco/'  # COCO 2017 as released, with coco2umg.py's index beside it
val_ann_file = 'umg_val2017.jsonl'
val_img_prefix = 'val2017'
val_vocabulary = 'coco_panoptic_133'
crop_size = (224, 224)

train_pipeline = [
    dict(type='LoadUMGImage'),
    dict(type='LoadUMGAnnotations', seed=0),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='SwapLeftRightOnFlip'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.8, 1.25), keep_ratio=True,
         resize_type='mmdet.Resize'),
    dict(type='mmdet.RandomCrop', crop_size=crop_size, allow_negative_crop=True),
    dict(type='PackUMGInputs'),
]
test_pipeline = [
    dict(type='LoadUMGImage'),
    dict(type='LoadUMGAnnotations', caption_sampling='first'),
    dict(type='mmdet.Resize', scale=crop_size, keep_ratio=True),
    dict(type='PackUMGInputs'),
]
train_dataloader = dict(
    batch_size=128, num_workers=8, persistent_workers=True, sampler=None,
    dataset=dict(type='UMGWebDataset', shards=train_shards, num_samples=num_train_samples,
                 shuffle_buffer=2000, seed=0, skip_invalid=True, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='UMGDataset', data_root=val_data_root, ann_file=val_ann_file,
                 data_prefix=dict(img=val_img_prefix), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='ImageTextRetrievalMetric'),
    dict(type='RegionRecognitionMetric', vocabulary=val_vocabulary),
    dict(type='DenseZeroShotIoUMetric', vocabulary=val_vocabulary),
]
test_evaluator = val_evaluator
