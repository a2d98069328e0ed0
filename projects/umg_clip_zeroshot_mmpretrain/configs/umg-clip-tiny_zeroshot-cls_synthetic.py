# The same mmpretrain zero-shot evaluation (data preprocessor, Accuracy top-1/top-5) on the
# synthetic world, for the tiny UMG-CLIP of configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py: each val
# image's label is its largest visible thing among the 10 thing classes (image_labels/val.txt,
# mmpretrain's CustomDataset format). Prompts and resizing are those of the pretraining config's own zero-shot
# evaluation, so the two report the same top-1 for the same checkpoint.
#   python tools/make_synthetic_data.py data/synthetic
#   python tools/train.py configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py
#   python tools/test.py projects/umg_clip_zeroshot_mmpretrain/configs/umg-clip-tiny_zeroshot-cls_synthetic.py \
#       work_dirs/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64/iter_600.pth
_base_ = ['./umg-clip-vit-b16_zeroshot-cls_in1k.py']

# the world's folder: environment variable UMG_SYNTHETIC_ROOT (default data/synthetic)
data_root = __import__('os').environ.get('UMG_SYNTHETIC_ROOT', 'data/synthetic') + '/'

model = dict(
    clip=dict(model_name='umg-vit-tiny-8'),  # umg_mm/models/clip_configs/umg-vit-tiny-8.json
    text_prototype=data_root + 'vocabularies/things.txt',
    text_prompt=['{}', 'a {}', 'a picture of a {}'])

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), interpolation='bilinear'),
    dict(type='PackInputs', meta_keys=['img_path', 'scale_factor']),
]
test_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        ann_file='image_labels/val.txt',
        data_prefix='images/val',
        metainfo=dict(classes=data_root + 'vocabularies/things.txt'),
        pipeline=test_pipeline))
