# The tiny synthetic-world pretraining of umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py, four times longer
# (2,400 iterations of 32 images, about 5 minutes on two idle CPU cores): the backbone that
# tools/main_job.py trains. Region recognition 24 -> 39% top-1, retrieval R@1 30 -> 55% against
# the 600-iteration schedule (docs/pretraining.md).
#   python tools/train.py configs/umg/umg-clip_vit-tiny_1xb32-2400it_synthetic-64x64.py
_base_ = ['./umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py']

# the zero-shot prompt templates, tuned on the world's dev split (never val) by
# tools/tune_on_dev.py; model.test_cfg reads them from here, the record holds every set's score
tuning = dict(
    split='dev', record='docs/tuning/umg-clip_vit-tiny_1xb32-2400it_synthetic-64x64.json',
    metric=['zero_shot_cls/top1', 'region/top1', 'dense/mIoU'],
    values=dict(templates=['a {}']))
model = dict(test_cfg=dict(templates=tuning['values']['templates']))

max_iters = 2400
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_iters - 50, eta_min=1e-5, by_epoch=False,
         begin=50, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=800, max_keep_ckpts=1))
