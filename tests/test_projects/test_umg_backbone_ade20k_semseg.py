"""projects/umg_backbone_ade20k_semseg: mmseg's stock Mask2Former ADE20K config with the UMG-CLIP
backbone builds from the installed mmseg, trains a step and predicts the 150 classes on the CPU
(tiny CLIP tower; the head at the stock sizes, closed vocabulary)."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import umg_mm  # noqa: F401
from .project_configs import TINY_LORA, project_config, tiny_backbone

PROJECT = 'umg_backbone_ade20k_semseg'
CONFIG = 'umg-vit-b16-lora_mask2former_8xb2-160k_ade20k-512x512.py'


def tiny_cfg():
    """The project config with a tiny CLIP tower and 64 px batches (stock: 512 px crops)."""
    cfg = project_config(PROJECT, CONFIG)
    tiny_backbone(cfg, lora=TINY_LORA)
    cfg.model.data_preprocessor.size = (64, 64)
    return cfg


@pytest.fixture(scope='module')
def model():
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg().model)


def batch(model, training):
    generator = torch.Generator().manual_seed(0)
    samples, images = [], []
    for _ in range(2):
        image = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=generator)
        # 16 blocks of 16 x 16 pixels, each of one of the 150 classes
        labels = torch.randint(0, 150, (1, 4, 4), generator=generator)
        labels = labels.repeat_interleave(16, dim=1).repeat_interleave(16, dim=2)
        labels[:, :8] = 255  # ignored
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=labels)
        images.append(image)
        samples.append(sample)
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), training=training)


def test_stock_config_with_umg_backbone(model):
    cfg = tiny_cfg()
    assert cfg.model.type == 'EncoderDecoder' and cfg.model.decode_head.type == 'Mask2FormerHead'
    assert cfg.model.decode_head.num_classes == 150
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.train_dataloader.dataset.type == 'ADE20KDataset'
    assert 'umg_mm' in cfg.custom_imports.imports and 'mmdet.models' in cfg.custom_imports.imports
    assert type(model.backbone).__name__ == 'UMGCLIPBackbone'
    # closed vocabulary: mmseg's own 150 + void class layer
    assert model.decode_head.cls_embed.out_features == 151
    feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert [tuple(f.shape[1:]) for f in feats] == [(256, 32, 32), (512, 16, 16), (1024, 8, 8),
                                                  (2048, 4, 4)]


def test_one_loss_step_trains_lora_pyramid_and_head(model):
    model.train()
    data = batch(model, training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert {'decode.loss_cls', 'decode.loss_mask', 'decode.loss_dice'} <= set(losses)
    assert torch.isfinite(total) and total > 0
    model.zero_grad()
    total.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert grads['decode_head.cls_embed.weight'].abs().sum() > 0
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if 'lora_' in n)
    assert all(grads[n] is not None for n in grads if n.startswith('neck.proj.'))
    frozen = [n for n, p in model.named_parameters()
              if n.startswith('backbone.visual') and 'lora_' not in n]
    assert frozen and all(grads[n] is None for n in frozen)


def test_predict_gives_150_class_maps(model):
    model.eval()
    data = batch(model, training=False)
    with torch.no_grad():
        results = model.predict(data['inputs'], data['data_samples'])
    assert results[0].seg_logits.data.shape == (150, 64, 64)
    assert results[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert torch.equal(results[0].pred_sem_seg.data[0], results[0].seg_logits.data.argmax(0))
