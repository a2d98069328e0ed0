# The synthetic world (docs/synthetic_world.md; python tools/make_synthetic_data.py
# data/synthetic): train on the seen classes (train label maps index vocabularies/seen.txt,
# held-out pixels are ignored), test on all 17 (val maps index vocabularies/all.txt). The
# metric reports mIoU over the seen and the held-out classes apart.
# the world's folder: environment variable UMG_SYNTHETIC_ROOT (default data/synthetic)
synthetic_root = __import__('os').environ.get('UMG_SYNTHETIC_ROOT', 'data/synthetic')
crop_size = (64, 64)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.5, 1.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    # 64 px: the resolution the tiny UMG-CLIP is pretrained at (umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py);
    # a config that tunes it on the dev split sets its own (tools/tune_on_dev.py)
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='VocabularySegDataset', vocabulary=synthetic_root + '/vocabularies/seen.txt',
        data_root=synthetic_root, img_suffix='.jpg', seg_map_suffix='.png',
        data_prefix=dict(img_path='images/train', seg_map_path='seg_maps/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VocabularySegDataset', vocabulary=synthetic_root + '/vocabularies/all.txt',
        data_root=synthetic_root, img_suffix='.jpg', seg_map_suffix='.png',
        data_prefix=dict(img_path='images/val', seg_map_path='seg_maps/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='OpenVocabIoUMetric', iou_metrics=['mIoU'],
                     seen_classes=synthetic_root + '/vocabularies/seen.txt')
test_evaluator = val_evaluator
