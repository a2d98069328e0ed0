# Open-vocabulary Mask2Former for panoptic segmentation on a frozen UMG-CLIP ViT-B/16.
# Everything but the classifier is mmdet's Mask2Former (its R-50 COCO panoptic config): pixel
# decoder with mmcv's MultiScaleDeformableAttention, masked-attention decoder, Hungarian matcher,
# losses, MaskFormerFusionHead. Set `clip_checkpoint` (a UMG-CLIP or open_clip file) in the
# config that inherits this one; both towers load it.
custom_imports = dict(imports=['umg_mm'], allow_failed_imports=False)

clip_model = 'ViT-B-16'
clip_checkpoint = None  # e.g. 'checkpoints/umg_clip_vit_b16.pth' (None: random weights)
feat_channels = 256
num_queries = 100

data_preprocessor = dict(
    type='DetDataPreprocessor',
    # CLIP's normalisation in 0-255 pixel units
    mean=[122.771, 116.746, 104.094],
    std=[68.501, 66.632, 70.323],
    bgr_to_rgb=True,
    pad_size_divisor=32,
    pad_mask=True,
    mask_pad_value=0,
    pad_seg=True,
    seg_pad_value=255)

model = dict(
    type='OpenVocabMask2Former',
    data_preprocessor=data_preprocessor,
    # labels = things then stuff; a DatasetVocabularyHook replaces them with each dataset's
    vocabulary=dict(thing_classes='coco_panoptic_things_80', stuff_classes='coco_panoptic_stuff_53'),
    backbone=dict(
        type='UMGCLIPBackbone',
        model_name=clip_model,
        checkpoint=clip_checkpoint,
        out_type='dict',  # pyramid for the head, dense embeddings for the ensemble
        frozen_stages=-1,  # frozen tower; LoRA adapters and the pyramid neck train
        lora=dict(r=8, alpha=16, dropout=0., target_modules=('c_fc', 'c_proj')),
        pyramid_channels=feat_channels),
    panoptic_head=dict(
        type='OpenVocabMask2FormerHead',
        classifier=dict(
            type='OpenVocabClassifier',
            text_encoder=dict(type='UMGCLIPTextEncoder', model_name=clip_model,
                              checkpoint=clip_checkpoint, templates='segmentation')),
        void_weight=0.1,
        in_channels=[feat_channels] * 4,
        strides=[4, 8, 16, 32],
        feat_channels=feat_channels,
        out_channels=feat_channels,
        num_queries=num_queries,
        num_transformer_feat_level=3,
        pixel_decoder=dict(
            type='MSDeformAttnPixelDecoder',
            num_outs=3,
            norm_cfg=dict(type='GN', num_groups=32),
            act_cfg=dict(type='ReLU'),
            encoder=dict(
                num_layers=6,
                layer_cfg=dict(
                    self_attn_cfg=dict(  # mmcv's MultiScaleDeformableAttention
                        embed_dims=feat_channels, num_heads=8, num_levels=3, num_points=4,
                        dropout=0.0, batch_first=True),
                    ffn_cfg=dict(
                        embed_dims=feat_channels, feedforward_channels=1024, num_fcs=2,
                        ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True)))),
            positional_encoding=dict(num_feats=feat_channels // 2, normalize=True)),
        enforce_decoder_input_project=False,
        positional_encoding=dict(num_feats=feat_channels // 2, normalize=True),
        transformer_decoder=dict(
            return_intermediate=True,
            num_layers=9,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=feat_channels, num_heads=8, dropout=0.0,
                                   batch_first=True),
                cross_attn_cfg=dict(embed_dims=feat_channels, num_heads=8, dropout=0.0,
                                    batch_first=True),
                ffn_cfg=dict(embed_dims=feat_channels, feedforward_channels=2048, num_fcs=2,
                             ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True))),
            init_cfg=None),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0,
                      reduction='mean'),
        loss_mask=dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='mean',
                       loss_weight=5.0),
        loss_dice=dict(type='DiceLoss', use_sigmoid=True, activate=True, reduction='mean',
                       naive_dice=True, eps=1.0, loss_weight=5.0)),
    panoptic_fusion_head=dict(type='MaskFormerFusionHead', loss_panoptic=None, init_cfg=None),
    # FC-CLIP's geometric ensemble: CLIP weight 0.4 on seen classes, 0.8 on the others
    ensemble=dict(type='VocabEnsemble', alpha=0.4, beta=0.8, seen_classes='coco_panoptic_133'),
    train_cfg=dict(
        num_points=12544,
        oversample_ratio=3.0,
        importance_sample_ratio=0.75,
        assigner=dict(
            type='HungarianAssigner',
            match_costs=[
                dict(type='ClassificationCost', weight=2.0),
                dict(type='CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0)
            ]),
        sampler=dict(type='MaskPseudoSampler')),
    test_cfg=dict(
        panoptic_on=True,
        semantic_on=False,
        instance_on=False,
        max_per_image=100,
        iou_thr=0.8,
        filter_low_score=True),
    init_cfg=None)
