"""The stock mmseg/mmdet configs of docs/stock_configs.md with UMGCLIPBackbone swapped in: each is
read from the page, loaded with its ``mmseg::``/``mmdet::`` base from the installed package,
built with a tiny CLIP tower, trained one optimizer step and run in prediction on the CPU."""
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

import umg_mm  # noqa: F401
from ..test_projects.project_configs import TINY_LORA, tiny_backbone

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / 'docs' / 'stock_configs.md'
BLOCK = re.compile(r'<!-- stock-config -->\n```python\n# file: my_configs/(\S+)\n(.*?)```', re.S)
CONFIGS = dict(BLOCK.findall(PAGE.read_text()))


def test_the_page_has_the_four_stock_configs():
    bases = [re.search(r"_base_ = \['(\S+)'\]", text).group(1) for text in CONFIGS.values()]
    assert bases == ['mmseg::upernet/upernet_r50_4xb4-80k_ade20k-512x512.py',
                     'mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py',
                     'mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py',
                     'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py']


def tiny_cfg(name, tmp_path):
    """The page's config ``name``, written to a file and loaded, with the tiny CLIP tower and
    64 px inputs (the stock crops are 512 or 1024 px)."""
    path = tmp_path / name
    path.write_text(CONFIGS[name])
    cfg = Config.fromfile(str(path))
    assert cfg.model.backbone.checkpoint == 'checkpoints/umg_clip_vit_b16.pth'
    tiny_backbone(cfg, lora=TINY_LORA, checkpoint='random')
    preprocessor = cfg.model.data_preprocessor
    if preprocessor.get('batch_augments'):
        preprocessor.batch_augments[0].size = (64, 64)
    else:
        preprocessor.size = (64, 64)
    return cfg


def seg_batch(num_classes):
    """Two 64 px images with label maps of 16 x 16 blocks, as a dataloader packs them."""
    from mmseg.structures import SegDataSample
    generator = torch.Generator().manual_seed(0)
    images, samples = [], []
    for _ in range(2):
        labels = torch.randint(0, num_classes, (1, 4, 4), generator=generator)
        labels = labels.repeat_interleave(16, dim=1).repeat_interleave(16, dim=2)
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=labels)
        images.append(torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=generator))
        samples.append(sample)
    return dict(inputs=images, data_samples=samples)


def panoptic_batch(num_classes):
    """Two mmdet demo images (64x64, 64x48) with panoptic items, as a dataloader packs them."""
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(batch_size=2, image_shapes=[(3, 64, 64), (3, 64, 48)],
                          num_items=[3, 2], num_classes=num_classes, with_mask=True,
                          with_semantic=True)


@pytest.mark.parametrize('name', list(CONFIGS))
def test_stock_config_builds_trains_a_step_and_predicts(name, tmp_path):
    cfg = tiny_cfg(name, tmp_path)
    scope = cfg.default_scope
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    torch.manual_seed(0)
    model = registry.build(cfg.model)
    assert type(model.backbone).__name__ == 'UMGCLIPBackbone'
    if scope == 'mmseg':
        # pretrained=None: nothing handed to the backbone; the stock ResNet weights are gone
        assert cfg.model.get('pretrained') is None and 'init_cfg' not in cfg.model.backbone
        num_classes = cfg.model.decode_head.num_classes
        batch = seg_batch
    else:
        num_classes = cfg.model.panoptic_head.num_things_classes + \
            cfg.model.panoptic_head.num_stuff_classes
        batch = panoptic_batch
    # the stock head reads the R-50 channels from the pyramid
    feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == [256, 512, 1024, 2048]

    # one optimizer step through the stock optim wrapper: the frozen tower stays, LoRA moves
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    frozen_before = model.backbone.visual.conv1.weight.detach().clone()
    lora = [p for n, p in model.named_parameters() if 'lora_B' in n]
    lora_before = [p.detach().clone() for p in lora]
    log_vars = model.train_step(batch(num_classes), optim_wrapper)
    assert torch.isfinite(log_vars['loss']) and log_vars['loss'] > 0
    assert torch.equal(model.backbone.visual.conv1.weight, frozen_before)
    assert any(not torch.equal(p, b) for p, b in zip(lora, lora_before))

    model.eval()
    with torch.no_grad():
        results = model.test_step(batch(num_classes))
    if scope == 'mmseg':
        assert results[0].pred_sem_seg.data.shape == (1, 64, 64)
        assert int(results[0].pred_sem_seg.data.max()) < num_classes
    else:
        assert results[0].pred_panoptic_seg.sem_seg.shape == (1, 64, 64)
