# The synthetic world (python tools/make_synthetic_data.py data/synthetic) for pretraining and
# zero-shot evaluation. Its folder comes from the environment variable UMG_SYNTHETIC_ROOT
# (default data/synthetic).
data_root = __import__('os').environ.get('UMG_SYNTHETIC_ROOT', 'data/synthetic') + '/'
vocabulary = data_root + 'vocabularies/all.txt'  # the model's zero-shot vocabulary (17 classes)
# the segmentation training's classes: the others (star, heart, brick) are reported apart
seen_classes = data_root + 'vocabularies/seen.txt'
image_size = (64, 64)

train_pipeline = [
    dict(type='LoadUMGImage'),
    dict(type='LoadUMGAnnotations', seed=0),
    dict(type='mmdet.Resize', scale=image_size, keep_ratio=True),
    dict(type='PackUMGInputs'),
]
test_pipeline = [
    dict(type='LoadUMGImage'),
    dict(type='LoadUMGAnnotations', caption_sampling='first'),
    dict(type='mmdet.Resize', scale=image_size, keep_ratio=True),
    dict(type='PackUMGInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='UMGDataset', data_root=data_root, ann_file='umg/train.jsonl',
                 data_prefix=dict(img='images/train'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='UMGDataset', data_root=data_root, ann_file='umg/val.jsonl',
                 data_prefix=dict(img='images/val'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='ZeroShotClassificationMetric', vocabulary=vocabulary, seen_classes=seen_classes,
         label_file=data_root + 'image_labels/val.txt',
         classes=data_root + 'vocabularies/things.txt'),
    # multi-label: every thing present is right (mAP, any_top1; same zero_shot_cls/ prefix)
    dict(type='ZeroShotMultiLabelMetric', vocabulary=vocabulary, seen_classes=seen_classes,
         label_file=data_root + 'image_labels/val_multilabel.json'),
    dict(type='ImageTextRetrievalMetric', vocabulary=vocabulary, seen_classes=seen_classes),
    dict(type='RegionRecognitionMetric', vocabulary=vocabulary, seen_classes=seen_classes,
         classes=data_root + 'vocabularies/things.txt'),  # every box is a thing
    dict(type='DenseZeroShotIoUMetric', vocabulary=vocabulary, seen_classes=seen_classes),
]
test_evaluator = val_evaluator
