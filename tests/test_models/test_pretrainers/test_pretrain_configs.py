"""The pretraining configs name registered classes and build (ViT-B/16 with random weights)."""
from pathlib import Path

import pytest
from mmengine.config import Config

import umg_mm  # noqa: F401
from umg_mm.registry import DATASETS, METRICS, MODELS, TRANSFORMS

CONFIGS = sorted((Path(__file__).parents[3] / 'configs' / 'umg').glob('umg-clip_vit-*.py'))


@pytest.mark.parametrize('path', CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_names_registered_classes(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['umg_mm']
    assert MODELS.get(cfg.model.type) is not None
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        assert DATASETS.get(loader.dataset.type) is not None
        # a ConcatDataset (COCO + Visual Genome) names its parts' pipelines
        for dataset in loader.dataset.get('datasets', [loader.dataset]):
            assert DATASETS.get(dataset.type) is not None
            for step in dataset.pipeline:
                assert TRANSFORMS.get(step['type']) is not None, step['type']
    for metric in cfg.test_evaluator:
        assert METRICS.get(metric['type']) is not None
    assert 'logit_scale' in cfg.optim_wrapper.paramwise_cfg.custom_keys  # every temperature


def test_vit_b16_pretrainer_builds_with_the_keys_the_optimizer_names():
    cfg = Config.fromfile(next(p for p in CONFIGS if 'vit-b16' in p.name))
    cfg.model.clip.checkpoint = None
    model = MODELS.build(cfg.model)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    # the three temperatures: the CLIP's logit_scale (image-text) and the two other levels'
    assert sorted(n for n in names if 'logit_scale' in n) == [
        'losses.pixel_text.log_logit_scale', 'losses.region_text.log_logit_scale',
        'text_encoder.clip.logit_scale']
    assert model.patch_size == 16 and model.backbone.embed_dim == 512
    assert any(n.startswith('text_encoder.') for n in names)
