# Open-vocabulary semantic segmentation on the synthetic world: train on the 14 seen classes,
# test on all 17 (star, heart and brick are held out of the training labels). A tiny UMG-CLIP
# (3 blocks, width 96, patch 8: the one configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py pretrains)
# frozen, a Mask2Former head with a text classifier, FC-CLIP's ensemble with the frozen
# backbone's dense zero-shot scores at test time. 300 iterations of
# batch 8 (64 px crops): minutes on 2 CPU cores.
#   python tools/make_synthetic_data.py data/synthetic
#   python tools/train.py configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py   # the backbone: CKPT
#   python tools/train.py configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py --cfg-options load_from=CKPT
#   python tools/test.py configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py \
#       work_dirs/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64/iter_300.pth
# CKPT: a pretrained tiny UMG-CLIP of this architecture (towers under backbone.* and
# text_encoder.*: a umg_mm pretraining checkpoint, or tools/convert_open_clip.py to-umg of an
# open_clip file); image-level only vs all three granularities in docs/semantic_segmentation.md.
_base_ = [
    '../_base_/models/umg_ov_mask2former_vitb16.py', '../_base_/datasets/umg_synthetic_semseg.py',
    '../_base_/umg_mmseg_runtime.py'
]
custom_imports = dict(imports=['umg_mm'], allow_failed_imports=False)

text_templates = ['a photo of a {}.', 'a {} in the scene.', 'a picture of {}.']
train_vocabulary = (__import__('os').environ.get('UMG_SYNTHETIC_ROOT', 'data/synthetic') +
                    '/vocabularies/seen.txt')
feat_channels = 64
crop_size = (64, 64)
# the test-time choices, tuned on the world's dev split (never val) by tools/tune_on_dev.py; the
# fields below read them from here, the record holds every candidate's dev score
tuning = dict(
    split='dev', record='docs/tuning/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.json',
    metric='mIoU',
    values=dict(test_scale=64, ensemble_alpha=0.2, ensemble_beta=1.0, ensemble_logit_scale=50.,
                coverage_thr=0.75))

# pixels no query covers (training left the held-out classes void) take the dense embeddings'
# CLIP probabilities, held-out classes only (docs/panoptic.md#held-out-classes)
fallback = dict(type='UncoveredPixelFallback', coverage_thr=tuning['values']['coverage_thr'],
                seen_classes=train_vocabulary)
# the base model (ViT-B/16, 256 channels, 100 queries) shrunk: only what differs is set here
attn = dict(embed_dims=feat_channels, num_heads=4)
ffn = dict(embed_dims=feat_channels, feedforward_channels=128)
model = dict(
    train_vocabulary=train_vocabulary,
    data_preprocessor=dict(size=crop_size,
                           test_cfg=dict(size_divisor=8)),  # a multiple of the patch size
    # the CLIP architecture; its weights come from a pretrained checkpoint (load_from)
    clip=dict(model_name='umg-vit-tiny-8'),
    text_encoder=dict(templates=text_templates),
    backbone=dict(
        _delete_=True,
        type='UMGCLIPBackbone',
        out_type='dict', frozen_stages='all', out_indices=(0, 1, 2, 2)),
    neck=dict(embed_dim=96, norm_cfg=dict(type='BN'), out_channels=feat_channels),
    ensemble=dict(seen_classes=train_vocabulary, alpha=tuning['values']['ensemble_alpha'],
                  beta=tuning['values']['ensemble_beta'],
                  clip_logit_scale=tuning['values']['ensemble_logit_scale']),
    # None when tuned off (model.fallback=None: the head alone)
    fallback=None if tuning['values']['coverage_thr'] is None else fallback,
    decode_head=dict(
        in_channels=[feat_channels] * 4,
        strides=[2, 4, 8, 16],
        feat_channels=feat_channels,
        out_channels=feat_channels,
        num_queries=16,
        pixel_decoder=dict(
            norm_cfg=dict(num_groups=8),
            encoder=dict(num_layers=1, layer_cfg=dict(self_attn_cfg=attn, ffn_cfg=ffn)),
            positional_encoding=dict(num_feats=feat_channels // 2)),
        positional_encoding=dict(num_feats=feat_channels // 2),
        transformer_decoder=dict(
            num_layers=3,
            layer_cfg=dict(self_attn_cfg=attn, cross_attn_cfg=attn, ffn_cfg=ffn)),
        train_cfg=dict(num_points=784)))

# the dataset base's test pipeline at the tuned test resolution
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(tuning['values']['test_scale'], ) * 2, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=1.0, norm_type=2))
max_iters = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=50, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='ProgressLoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=max_iters),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
