# mmseg's stock Mask2Former ADE20K semantic recipe (ResNet-50, 512x512 crops, 8 GPUs x 2 images,
# 160k iterations) with the UMG-CLIP backbone in place of the ResNet: "just a better backbone".
# The 150-way head, its losses, the data and the schedule are mmseg's, unchanged (closed
# vocabulary); umg_mm replaces only the backbone (a frozen UMG-CLIP ViT-B/16 with LoRA adapters on
# its MLPs and a trained pyramid giving the R-50 channels the head expects) and the pixel
# normalisation (CLIP's).
# Set clip_checkpoint in a copy of this file, or: --cfg-options model.backbone.checkpoint=CKPT
_base_ = ['mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py']
custom_imports = dict(imports=['mmdet.models', 'umg_mm'], allow_failed_imports=False)
# checkpoints that survive a kill at any moment (mmengine's CheckpointHook, saved atomically)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

clip_model = 'ViT-B-16'
# e.g. 'checkpoints/umg_clip_vit_b16.pth'; None: tools/train.py refuses to train until it is
# given ('random': random CLIP weights on purpose)
clip_checkpoint = None

model = dict(
    # CLIP's normalisation, in 0-255 pixel units
    data_preprocessor=dict(mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323]),
    backbone=dict(
        _delete_=True,
        type='UMGCLIPBackbone',
        model_name=clip_model,
        checkpoint=clip_checkpoint,
        out_type='intermediates',
        frozen_stages='all',  # the CLIP tower is frozen; LoRA adapters and the pyramid train
        lora=dict(r=8, alpha=16, dropout=0., target_modules=('c_fc', 'c_proj'))),
    # the blocks (2, 5, 8, 11) at strides 4, 8, 16, 32 (mmseg's Feature2Pyramid), 1x1-mapped to
    # the stock head's in_channels
    neck=dict(type='CLIPPyramidNeck', embed_dim=768, rescales=(4, 2, 1, 0.5),
              norm_cfg=dict(type='SyncBN', requires_grad=True),
              out_channels=[256, 512, 1024, 2048]))
