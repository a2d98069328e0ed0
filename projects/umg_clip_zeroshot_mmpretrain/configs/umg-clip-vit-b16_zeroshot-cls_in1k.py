# mmpretrain's stock CLIP zero-shot ImageNet classification (its dataset, pipeline, data
# preprocessor and Accuracy top-1/top-5, unchanged) with a UMG-CLIP model: umg_mm's
# UMGCLIPZeroShot replaces mmpretrain's CLIPZeroShot, so the towers are open_clip's
# (UMGCLIPBackbone, UMGCLIPTextEncoder) and the tokenizer is open_clip's bundled BPE one (no
# HuggingFace download).
# The weights come from the checkpoint given to tools/test.py (a umg_mm pretraining checkpoint, or
# an open_clip file converted by tools/convert_open_clip.py to-umg).
_base_ = ['mmpretrain::clip/clip_vit-base-p16_zeroshot-cls_in1k.py']
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
    text_prototype='imagenet',  # mmpretrain's class names, as the stock config
    text_prompt='openai_imagenet_sub')  # mmpretrain's prompt set, as the stock config

# mmpretrain 1.2.0's CLIP zero-shot configs keep mmengine's default pseudo_collate, under which
# their MultiModalDataPreprocessor stacks a batch of images as (3, B, H, W); stacking the batch in
# the dataloader gives it (B, 3, H, W)
test_dataloader = dict(collate_fn=dict(type='default_collate'))
