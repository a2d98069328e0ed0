# UMG-CLIP pretraining of open_clip ViT-L/14 on UMG-41M-style shards: 8 GPUs x 64 images
# (512 per step), 80k iterations, AMP, gradient checkpointing.
#   bash tools/dist_train.sh configs/umg/umg-clip_vit-l14_8xb64-amp-80k_umg41m.py 8
_base_ = ['./umg-clip_vit-b16_8xb128-amp-40k_umg41m.py']

model = dict(
    data_preprocessor=dict(pad_size_divisor=14),
    # open_clip_pytorch_model.bin of ViT-L-14 laion2b_s32b_b82k (or another ViT-L-14 checkpoint)
    clip=dict(model_name='ViT-L-14',
              checkpoint='checkpoints/open_clip/ViT-L-14-laion2b_s32b_b82k.bin'))
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=1e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=2000),
    dict(type='CosineAnnealingLR', T_max=78000, eta_min=0., by_epoch=False, begin=2000,
         end=80000),
]
train_cfg = dict(max_iters=80000, val_interval=10000)
auto_scale_lr = dict(base_batch_size=512)
