# The training-free baseline on the synthetic world: each pixel's dense UMG-CLIP embedding
# scored against the class text embeddings (no segmentation training, no checkpoint of its
# own). Tested on all 17 classes, seen and held out:
#   python tools/test.py configs/umg/umg-dense-zero-shot_vit-tiny_synthetic-64x64.py CKPT
# CKPT: the pretrained CLIP, towers under backbone.* and text_encoder.* (see
# umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py).
_base_ = [
    '../_base_/datasets/umg_synthetic_semseg.py', '../_base_/umg_mmseg_runtime.py'
]
custom_imports = dict(imports=['umg_mm'], allow_failed_imports=False)
text_templates = ['a photo of a {}.', 'a {} in the scene.', 'a picture of {}.']
model = dict(
    type='OpenVocabEncoderDecoder',
    test_vocabulary=(__import__('os').environ.get('UMG_SYNTHETIC_ROOT', 'data/synthetic') +
                     '/vocabularies/all.txt'),
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=8),
    # the weights: tools/test.py's checkpoint (or add checkpoint=CKPT here)
    clip=dict(model_name='umg-vit-tiny-8'),
    backbone=dict(type='UMGCLIPBackbone', out_type='dict', out_indices=()),
    text_encoder=dict(type='UMGCLIPTextEncoder', templates=text_templates),
    decode_head=dict(type='DenseZeroShotHead'),
    test_cfg=dict(mode='whole'))
custom_hooks = [dict(type='VocabularyHook')]
train_dataloader = None  # training-free
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
