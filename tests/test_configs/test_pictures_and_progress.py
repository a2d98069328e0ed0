"""Every shipped config draws with umg_mm's visualisers (mmdet's and mmseg's configs) and logs
validation / test progress with ProgressLoggerHook."""
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / 'configs/umg').glob('*.py'))
VISUALIZERS = dict(mmdet='UMGDetLocalVisualizer', mmseg='UMGSegLocalVisualizer')


@pytest.mark.parametrize('path', CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_names_the_visualizer_and_the_progress_logger(path):
    cfg = Config.fromfile(str(path))
    scope = cfg.get('default_scope')
    if scope in VISUALIZERS:
        assert cfg.visualizer.type == VISUALIZERS[scope]
    assert cfg.default_hooks.logger.type == 'ProgressLoggerHook'


def test_both_libraries_are_covered():
    scopes = [Config.fromfile(str(p)).get('default_scope') for p in CONFIGS]
    assert scopes.count('mmseg') >= 6 and scopes.count('mmdet') >= 2
