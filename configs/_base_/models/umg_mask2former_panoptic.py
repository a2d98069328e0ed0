# Open-vocabulary Mask2Former for panoptic segmentation on a frozen UMG-CLIP ViT-B/16: mmdet's
# Mask2Former COCO panoptic recipe (its R-50 model, data, large-scale jitter and schedule),
# inherited, with only what umg_mm changes in the model:
#   * the backbone: a frozen UMG-CLIP ViT-B/16 (LoRA on its MLPs) whose pyramid gives 256
#     channels per level, and whose dense embeddings feed FC-CLIP's ensemble;
#   * the class layer: OpenVocabClassifier (queries scored against the text embeddings of the
#     vocabulary + a learned void embedding) instead of the fixed 133-way linear layer;
#   * CLIP's pixel normalisation; batch augments (mmdet's 1024 px LSJ padding) left to the
#     recipes (umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic.py keeps mmdet's).
# Recipes on other data replace the data, schedule and optimizer settings with _delete_=True.
# Set model.clip.checkpoint (a UMG-CLIP or open_clip file) in the config that inherits this one.
_base_ = ['mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py']
custom_imports = dict(imports=['umg_mm'], allow_failed_imports=False)
# checkpoints that survive a kill at any moment (mmengine's CheckpointHook, saved atomically)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

clip_model = 'ViT-B-16'
feat_channels = 256

model = dict(
    type='OpenVocabMask2Former',
    # CLIP's normalisation in 0-255 pixel units
    data_preprocessor=dict(mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323],
                           batch_augments=None),
    # labels = things then stuff; a VocabularyHook replaces them with each dataset's
    vocabulary=dict(thing_classes='coco_panoptic_things_80', stuff_classes='coco_panoptic_stuff_53'),
    # the CLIP both towers start from, named once: add checkpoint='checkpoints/umg_clip_vit_b16.pth'
    # (none: tools/train.py refuses to train random towers)
    clip=dict(model_name=clip_model),
    backbone=dict(
        _delete_=True,
        type='UMGCLIPBackbone',
        out_type='dict',  # blocks for the neck, dense embeddings for the ensemble
        frozen_stages='all',  # frozen tower; LoRA adapters and the pyramid neck train
        lora=dict(r=8, alpha=16, dropout=0., target_modules=('c_fc', 'c_proj'))),
    # the blocks (2, 5, 8, 11) at strides 4, 8, 16, 32, 1x1-mapped to the head's channels
    neck=dict(type='CLIPPyramidNeck', embed_dim=768, rescales=(4, 2, 1, 0.5),
              norm_cfg=dict(type='BN'), out_channels=feat_channels),
    text_encoder=dict(type='UMGCLIPTextEncoder', templates='segmentation'),
    panoptic_head=dict(
        type='OpenVocabMask2FormerHead',
        num_things_classes=None,  # the vocabulary decides
        num_stuff_classes=None,
        classifier=dict(type='OpenVocabClassifier'),  # handed the model's text_encoder
        void_weight=0.1,  # the stock class_weight's last entry
        in_channels=[feat_channels] * 4,
        loss_cls=dict(class_weight=None)),  # rebuilt for each vocabulary: 1 per class, 0.1 void
    # FC-CLIP's geometric ensemble: CLIP weight 0.4 on seen classes, 0.8 on the others
    ensemble=dict(type='VocabEnsemble', alpha=0.4, beta=0.8, seen_classes='coco_panoptic_133'),
    test_cfg=dict(instance_on=False))
