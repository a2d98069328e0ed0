# UMG-CLIP pretraining model: open_clip ViT-B/16 towers, image-, region- and pixel-text losses.
clip_model = 'ViT-B-16'

model = dict(
    type='UMGCLIPPretrainer',
    data_preprocessor=dict(
        type='UMGDataPreprocessor',
        mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323],  # CLIP's, 0-255 units
        bgr_to_rgb=True, pad_size_divisor=16),
    # the CLIP both towers start from, named once. checkpoint: open_clip weights (no download: a
    # local file, e.g. open_clip's open_clip_pytorch_model.bin of ViT-B-16 laion2b_s34b_b88k);
    # 'random' starts from random weights (none: tools/train.py refuses to start)
    clip=dict(model_name=clip_model),
    backbone=dict(
        type='UMGCLIPBackbone',
        out_type='dict', out_indices=(), dense_readout='tokens', frozen_stages=-1,
        grad_checkpointing=True),
    text_encoder=dict(
        type='UMGCLIPTextEncoder',
        frozen=False, templates='imagenet80'),
    image_text_loss=dict(type='MultiPositiveContrastiveLoss', loss_weight=1.0, temperature=0.07),
    region_text_loss=dict(type='MultiPositiveContrastiveLoss', loss_weight=1.0,
                          temperature=0.07),
    pixel_text_loss=dict(type='MultiPositiveContrastiveLoss', loss_weight=1.0, temperature=0.07),
    pixel_dense_loss=None,
    region_roi=dict(output_size=2, sampling_ratio=2, aligned=True),
    test_cfg=dict(vocabulary=None, templates='imagenet80'))
