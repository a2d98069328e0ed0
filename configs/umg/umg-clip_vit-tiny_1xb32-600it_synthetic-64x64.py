# Pretrain a tiny UMG-CLIP from scratch on the synthetic world with all three alignments
# (image-, region-, pixel-text), on the CPU in minutes, then evaluate zero-shot.
#   python tools/make_synthetic_data.py data/synthetic
#   python tools/train.py configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py
#   bash tools/dist_train.sh configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py 2
#   python tools/test.py configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py work_dirs/.../iter_600.pth
# Another world folder: UMG_SYNTHETIC_ROOT=/path/to/world python tools/train.py ...
_base_ = [
    '../_base_/models/umg_clip_pretrain_vit-b16.py',
    '../_base_/datasets/synthetic_umg_pretrain.py',
    '../_base_/umg_pretrain_runtime.py',
]
templates = ['{}', 'a {}', 'a picture of a {}']
model = dict(
    data_preprocessor=dict(pad_size_divisor=8),
    # from scratch: random towers on purpose (tools/train.py refuses towers without weights)
    # umg_mm/models/clip_configs/umg-vit-tiny-8.json: 3 blocks, width 96, patch 8
    clip=dict(model_name='umg-vit-tiny-8', checkpoint='random'),
    backbone=dict(grad_checkpointing=False),
    text_encoder=dict(templates=templates),
    # zero-shot with the training templates (the 2400-iteration config tunes its own)
    test_cfg=dict(vocabulary={{_base_.vocabulary}}, templates=None))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.1),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0.,
                       # the temperatures: the CLIP's logit_scale (image-text) and the
                       # other levels' losses.<level>.log_logit_scale
                       custom_keys={'logit_scale': dict(decay_mult=0.)}))
max_iters = 600
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_iters - 50, eta_min=1e-5, by_epoch=False,
         begin=50, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=200, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
