# mmpretrain's stock CLIP zero-shot CIFAR-100 classification (dataset, pipeline, data preprocessor,
# Accuracy unchanged) with a UMG-CLIP model (see umg-clip-vit-b16_zeroshot-cls_in1k.py).
_base_ = ['mmpretrain::clip/clip_vit-base-p16_zeroshot-cls_cifar100.py']
custom_imports = dict(imports=['umg_mm'], allow_failed_imports=False)
# checkpoints that survive a kill at any moment (mmengine's CheckpointHook, saved atomically)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

clip_model = 'ViT-B-16'  # the open_clip architecture of the checkpoint

model = dict(
    _delete_=True,
    type='UMGCLIPZeroShot',
    clip=dict(model_name=clip_model),  # both towers; their weights: tools/test.py's checkpoint
    backbone=dict(type='UMGCLIPBackbone'),
    text_encoder=dict(type='UMGCLIPTextEncoder'),
    text_prototype='cifar100',
    text_prompt='openai_cifar100')

# mmpretrain 1.2.0's CLIP zero-shot configs keep mmengine's default pseudo_collate, under which
# their MultiModalDataPreprocessor stacks a batch of images as (3, B, H, W); stacking the batch in
# the dataloader gives it (B, 3, H, W)
test_dataloader = dict(collate_fn=dict(type='default_collate'))
