# Train the open-vocabulary segmentor on COCO-Stuff-171 (validation on COCO-Stuff val); test
# on the five open-vocabulary benchmarks with the umg-mask2former_vit-b16_coco-stuff164k-640x640_*.py
# configs and this run's checkpoint. 60k iterations, batch 16 (8 GPUs x 2), as SAN/FC-CLIP, with
# automatic mixed precision (a GPU needed; fp32: the same name without -amp, or --cfg-options
# optim_wrapper.type=OptimWrapper). CKPT: the UMG-CLIP towers (backbone.*, text_encoder.*).
#   bash tools/dist_train.sh configs/umg/umg-mask2former_vit-b16_8xb2-amp-60k_coco-stuff164k-640x640.py 8 \
#       --cfg-options load_from=CKPT
_base_ = [
    '../_base_/models/umg_ov_mask2former_vitb16.py', '../_base_/datasets/umg_coco_stuff171.py',
    '../_base_/umg_mmseg_runtime.py'
]
train_dataloader = dict(batch_size=2)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'query_embed': dict(decay_mult=0.),
        'query_feat': dict(decay_mult=0.),
        'level_embed': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.)
    }),
    clip_grad=dict(max_norm=0.01, norm_type=2))
max_iters = 60000
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=3,
                    save_best='mIoU', rule='greater'))
