# Continued pretraining from CLIP weights: AdamW, linear warm-up then cosine decay, 40k
# iterations (8 GPUs x 128 images = 1024 per step: about 1 epoch of 41M images), AMP.
# (AmpOptimWrapper's loss scale is dynamic by default; fp32: optim_wrapper.type=OptimWrapper)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-5, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.05),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0.,
                       # the temperatures: the CLIP's logit_scale (image-text) and the
                       # other levels' losses.<level>.log_logit_scale
                       custom_keys={'logit_scale': dict(decay_mult=0., lr_mult=10.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=2000),
    dict(type='CosineAnnealingLR', T_max=38000, eta_min=0., by_epoch=False, begin=2000,
         end=40000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=1024)
