# mmdet's stock Mask2Former COCO panoptic recipe (ResNet-50, large-scale jitter, 8 GPUs x 2 images,
# 368,750 iterations), with what umg_mm replaces and nothing else:
#   * the backbone: a frozen UMG-CLIP ViT-B/16 with LoRA adapters on its MLPs, whose pyramid
#     (mmseg's Feature2Pyramid + 1x1 convolutions) gives the R-50 channels the head expects;
#   * the class layer: the fixed 133-way nn.Linear becomes umg_mm's OpenVocabClassifier (queries
#     scored against the text embeddings of the vocabulary + a learned void embedding), so the
#     classes are text and can be replaced at test time without retraining;
#   * CLIP's pixel normalisation.
# Set the CLIP weights both towers start from (a UMG-CLIP file, or an open_clip one) once, in
# model.clip (a copy of this file), or on the command line:
#   --cfg-options model.clip.checkpoint=CKPT
_base_ = ['mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py']
custom_imports = dict(imports=['umg_mm'], allow_failed_imports=False)
# checkpoints that survive a kill at any moment (mmengine's CheckpointHook, saved atomically)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))


model = dict(
    type='OpenVocabMask2Former',
    # CLIP's normalisation, in 0-255 pixel units
    data_preprocessor=dict(mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323]),
    # labels: the 80 things, then the 53 stuff classes (mmdet's COCO panoptic order); during
    # training and testing the VocabularyHook below replaces them with each dataset's
    vocabulary=dict(thing_classes='coco_panoptic_things_80',
                    stuff_classes='coco_panoptic_stuff_53'),
    # add checkpoint='checkpoints/umg_clip_vit_b16.pth'; none: tools/train.py refuses to train
    # until it is given ('random': random CLIP weights on purpose)
    clip=dict(model_name='ViT-B-16'),
    backbone=dict(
        _delete_=True,
        type='UMGCLIPBackbone',
        out_type='intermediates',
        frozen_stages='all',  # the CLIP tower is frozen; LoRA adapters and the pyramid train
        lora=dict(r=8, alpha=16, dropout=0., target_modules=('c_fc', 'c_proj'))),
    # the blocks (2, 5, 8, 11) at strides 4, 8, 16, 32 (mmseg's Feature2Pyramid), 1x1-mapped to
    # the stock head's in_channels
    neck=dict(type='CLIPPyramidNeck', embed_dim=768, rescales=(4, 2, 1, 0.5),
              norm_cfg=dict(type='SyncBN', requires_grad=True),
              out_channels=[256, 512, 1024, 2048]),
    text_encoder=dict(type='UMGCLIPTextEncoder', templates='segmentation'),
    panoptic_head=dict(
        type='OpenVocabMask2FormerHead',
        num_things_classes=None,  # the vocabulary decides
        num_stuff_classes=None,
        classifier=dict(type='OpenVocabClassifier'),  # handed the model's text_encoder
        void_weight=0.1,  # the stock class_weight's last entry
        loss_cls=dict(class_weight=None)))  # rebuilt for each vocabulary: 1 per class, 0.1 void

# the model classifies over each loop's dataset classes (COCO's names read as CLIP-friendly text:
# 'wall-other-merged' -> 'wall'); swapping the test dataset or its metainfo swaps the vocabulary
custom_hooks = [dict(type='VocabularyHook', vocabulary='coco_panoptic_133')]

embed_multi = dict(lr_mult=1.0, decay_mult=0.0)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'void_embedding': embed_multi,
    'logit_scale': embed_multi,  # no weight decay on the classifier's temperature
}))
