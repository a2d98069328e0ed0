# Open-vocabulary semantic segmentor: frozen UMG-CLIP ViT-B/16 (a trainable Feature2Pyramid
# neck; LoRA optional), mmseg's Mask2Former head with a text-embedding classifier, FC-CLIP's
# in/out-of-vocabulary ensemble with the frozen backbone's dense zero-shot prediction at test
# time. Train vocabulary: COCO-Stuff-171. The towers' weights: --cfg-options load_from=CKPT
# with a umg_mm pretraining checkpoint or an open_clip file converted by
# tools/convert_open_clip.py to-umg (towers under backbone.* and text_encoder.*).
custom_imports = dict(imports=['umg_mm'], allow_failed_imports=False)
clip_model = 'ViT-B-16'
train_vocabulary = 'coco_stuff_171'
feat_channels = 256
model = dict(
    type='OpenVocabEncoderDecoder',
    train_vocabulary=train_vocabulary,
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323],  # CLIP's
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(640, 640),
        test_cfg=dict(size_divisor=32)),  # a multiple of the patch size (16)
    # the CLIP both towers start from, named once (add checkpoint=... or load_from)
    clip=dict(model_name=clip_model),
    text_encoder=dict(type='UMGCLIPTextEncoder', templates='segmentation'),
    backbone=dict(
        type='UMGCLIPBackbone',
        out_type='dict', frozen_stages='all', lora=None),
    # the blocks (2, 5, 8, 11) at strides 4, 8, 16, 32, 1x1-mapped to the head's channels
    neck=dict(type='CLIPPyramidNeck', embed_dim=768, rescales=(4, 2, 1, 0.5),
              norm_cfg=dict(type='SyncBN', requires_grad=True), out_channels=feat_channels),
    # FC-CLIP's weights: CLIP's share is alpha for classes seen in training, beta for others
    ensemble=dict(type='VocabEnsemble', alpha=0.4, beta=0.8, seen_classes=train_vocabulary),
    decode_head=dict(
        type='OpenVocabMask2FormerSegHead',
        classifier=dict(type='OpenVocabClassifier'),
        void_weight=0.1,
        in_channels=[feat_channels] * 4,
        strides=[4, 8, 16, 32],
        feat_channels=feat_channels,
        out_channels=feat_channels,
        num_queries=100,
        num_transformer_feat_level=3,
        align_corners=False,
        pixel_decoder=dict(
            type='mmdet.MSDeformAttnPixelDecoder',
            num_outs=3,
            norm_cfg=dict(type='GN', num_groups=32),
            act_cfg=dict(type='ReLU'),
            encoder=dict(
                num_layers=6,
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=feat_channels, num_heads=8, num_levels=3,
                                       num_points=4, im2col_step=64, dropout=0.0,
                                       batch_first=True, norm_cfg=None, init_cfg=None),
                    ffn_cfg=dict(embed_dims=feat_channels, feedforward_channels=1024, num_fcs=2,
                                 ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True))),
                init_cfg=None),
            positional_encoding=dict(num_feats=feat_channels // 2, normalize=True),
            init_cfg=None),
        enforce_decoder_input_project=False,
        positional_encoding=dict(num_feats=feat_channels // 2, normalize=True),
        transformer_decoder=dict(
            return_intermediate=True,
            num_layers=9,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=feat_channels, num_heads=8, attn_drop=0.0,
                                   proj_drop=0.0, dropout_layer=None, batch_first=True),
                cross_attn_cfg=dict(embed_dims=feat_channels, num_heads=8, attn_drop=0.0,
                                    proj_drop=0.0, dropout_layer=None, batch_first=True),
                ffn_cfg=dict(embed_dims=feat_channels, feedforward_channels=2048, num_fcs=2,
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
            num_points=12544, oversample_ratio=3.0, importance_sample_ratio=0.75,
            assigner=dict(
                type='mmdet.HungarianAssigner',
                match_costs=[
                    dict(type='mmdet.ClassificationCost', weight=2.0),
                    dict(type='mmdet.CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                    dict(type='mmdet.DiceCost', weight=5.0, pred_act=True, eps=1.0)
                ]),
            sampler=dict(type='mmdet.MaskPseudoSampler'))),
    train_cfg=dict(),
    # whole-image inference; the test configs of large-image benchmarks switch to 'slide'
    test_cfg=dict(mode='whole'))
custom_hooks = [dict(type='VocabularyHook')]
