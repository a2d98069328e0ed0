# Open-vocabulary semantic segmentation on the synthetic world: train on the 14 seen classes,
# test on all 17 (star, heart and brick are held out of the training labels). A tiny UMG-CLIP
# (3 blocks, width 96, patch 8: the one configs/umg/umg_pretrain_tiny_synthetic.py pretrains)
# frozen, a Mask2Former head with a text classifier, FC-CLIP's ensemble with the frozen
# backbone's dense zero-shot scores at test time. 300 iterations of
# batch 8 (64 px crops): minutes on 2 CPU cores.
#   python tools/make_synthetic_data.py data/synthetic
#   python tools/train.py configs/umg/umg_pretrain_tiny_synthetic.py   # the backbone: CKPT
#   python tools/train.py configs/umg/semseg_synthetic_tiny.py --cfg-options load_from=CKPT
#   python tools/test.py configs/umg/semseg_synthetic_tiny.py \
#       work_dirs/semseg_synthetic_tiny/iter_300.pth
# CKPT: a pretrained tiny UMG-CLIP of this architecture (towers under backbone.* and
# text_encoder.*: a umg_mm pretraining checkpoint, or tools/convert_open_clip.py to-umg of an
# open_clip file); image-level only vs all three granularities in docs/semantic_segmentation.md.
_base_ = [
    '../_base_/datasets/umg_synthetic_semseg.py', 'mmseg::_base_/default_runtime.py'
]
custom_imports = dict(imports=['umg_mm'], allow_failed_imports=False)

# the CLIP architecture; its weights come from a pretrained checkpoint (load_from)
clip_model_cfg = dict(
    embed_dim=64,
    vision_cfg=dict(image_size=64, layers=3, width=96, head_width=32, patch_size=8),
    text_cfg=dict(context_length=32, vocab_size=49408, width=64, heads=2, layers=2))
text_templates = ['a photo of a {}.', 'a {} in the scene.', 'a picture of {}.']
train_vocabulary = 'data/synthetic/vocabularies/seen.txt'
feat_channels = 64
crop_size = (64, 64)

model = dict(
    type='OpenVocabEncoderDecoder',
    train_vocabulary=train_vocabulary,
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        # CLIP's normalisation, in 0-255 pixel units
        mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=crop_size,
        test_cfg=dict(size_divisor=8)),  # a multiple of the patch size
    text_encoder=dict(type='UMGCLIPTextEncoder', model_cfg=clip_model_cfg,
                      templates=text_templates),
    backbone=dict(
        type='UMGCLIPBackbone', model_cfg=clip_model_cfg,
        out_type='dict', frozen_stages=-1, out_indices=(0, 1, 2, 2),
        pyramid_neck=dict(type='Feature2Pyramid', rescales=(4, 2, 1, 0.5),
                          norm_cfg=dict(type='BN')),
        pyramid_channels=feat_channels),
    decode_head=dict(
        type='OpenVocabMask2FormerSegHead',
        classifier=dict(type='OpenVocabClassifier'),
        ensemble=dict(type='VocabEnsemble', alpha=0.4, beta=0.8, seen_classes=train_vocabulary,
                      clip_logit_scale=100.),
        void_weight=0.1,
        in_channels=[feat_channels] * 4,
        strides=[2, 4, 8, 16],
        feat_channels=feat_channels,
        out_channels=feat_channels,
        num_queries=16,
        num_transformer_feat_level=3,
        align_corners=False,
        pixel_decoder=dict(
            type='mmdet.MSDeformAttnPixelDecoder',
            num_outs=3,
            norm_cfg=dict(type='GN', num_groups=8),
            act_cfg=dict(type='ReLU'),
            encoder=dict(
                num_layers=1,
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=feat_channels, num_heads=4, num_levels=3,
                                       num_points=4, im2col_step=64, dropout=0.0,
                                       batch_first=True, norm_cfg=None, init_cfg=None),
                    ffn_cfg=dict(embed_dims=feat_channels, feedforward_channels=128, num_fcs=2,
                                 ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True))),
                init_cfg=None),
            positional_encoding=dict(num_feats=feat_channels // 2, normalize=True),
            init_cfg=None),
        enforce_decoder_input_project=False,
        positional_encoding=dict(num_feats=feat_channels // 2, normalize=True),
        transformer_decoder=dict(
            return_intermediate=True,
            num_layers=3,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=feat_channels, num_heads=4, attn_drop=0.0,
                                   proj_drop=0.0, dropout_layer=None, batch_first=True),
                cross_attn_cfg=dict(embed_dims=feat_channels, num_heads=4, attn_drop=0.0,
                                    proj_drop=0.0, dropout_layer=None, batch_first=True),
                ffn_cfg=dict(embed_dims=feat_channels, feedforward_channels=128, num_fcs=2,
                             act_cfg=dict(type='ReLU', inplace=True), ffn_drop=0.0,
                             dropout_layer=None, add_identity=True)),
            init_cfg=None),
        loss_cls=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0,
                      reduction='mean'),  # class_weight follows the vocabulary
        loss_mask=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True, reduction='mean',
                       loss_weight=5.0),
        loss_dice=dict(type='mmdet.DiceLoss', use_sigmoid=True, activate=True, reduction='mean',
                       naive_dice=True, eps=1.0, loss_weight=5.0),
        train_cfg=dict(
            num_points=784, oversample_ratio=3.0, importance_sample_ratio=0.75,
            assigner=dict(
                type='mmdet.HungarianAssigner',
                match_costs=[
                    dict(type='mmdet.ClassificationCost', weight=2.0),
                    dict(type='mmdet.CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                    dict(type='mmdet.DiceCost', weight=5.0, pred_act=True, eps=1.0)
                ]),
            sampler=dict(type='mmdet.MaskPseudoSampler'))),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
custom_hooks = [dict(type='SemSegVocabularyHook')]

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
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
