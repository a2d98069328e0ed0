"""Every config shipped in configs/umg/ builds: its model, its data pipelines, its metrics and
its custom hooks (data folders may be missing: no dataset is built).

Configs are found by listing the folder, so configs added later are covered too; none is
skipped. The checks run in a temporary working folder holding a small synthetic world at
``data/synthetic`` (the synthetic recipes read its vocabulary files when their model is
built); a metric that reads a missing annotation file under ``data/`` (mmdet's
``CocoPanopticMetric``) is accepted. Weight files are treated like data: a ``checkpoint=``
that names a missing file is built without it (random weights), so the architecture is still
checked. Configs whose model sections are identical share one model build. Models of more
than :data:`REAL_BUILD_LIMIT` parameters (EVA02-E/14: 4.7 billion, 19 GB in fp32) are built
under PyTorch's ``FakeTensorMode``, the step estimator's way: the same modules, no storage.
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose
from mmengine.registry import HOOKS, METRICS, MODELS, DefaultScope
from mmengine.utils import import_modules_from_strings

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'umg', '*.py')))
_BUILT_MODELS = {}
#: open_clip towers larger than this (parameters) are built without storage
REAL_BUILD_LIMIT = 10**9


def _clip_parameters(name: str) -> int:
    """Parameters of the open_clip model ``name``, built on the meta device (0: no config of
    that name; the real build reports it)."""
    import open_clip
    import torch

    from umg_mm.models.utils.open_clip_builder import build_open_clip
    model_cfg = open_clip.get_model_config(name)
    if model_cfg is None:
        return 0
    with torch.device('meta'):
        return sum(p.numel() for p in build_open_clip(None, model_cfg).parameters())


def _build(model_cfg):
    """The model; fake (no storage) when its open_clip towers are larger than the limit."""
    names = {t.get('model_name') for t in (model_cfg.get('clip') or {},
                                           model_cfg.get('backbone') or {},
                                           model_cfg.get('text_encoder') or {})
             if t.get('model_cfg') is None}
    if not any(n and _clip_parameters(n) > REAL_BUILD_LIMIT for n in names):
        return MODELS.build(model_cfg)
    from torch._subclasses.fake_tensor import FakeTensorMode

    from umg_mm.benchmark.estimator import fake_buildable
    with FakeTensorMode(allow_non_fake_inputs=True), fake_buildable():
        return MODELS.build(model_cfg)


def test_configs_are_found():
    assert len(CONFIGS) >= 8, CONFIGS  # semantic: synthetic x2, COCO-Stuff train, 5 benchmarks


@pytest.fixture(scope='module')
def world_cwd(tmp_path_factory):
    from umg_mm.datasets.synthetic import SyntheticWorldConfig, generate_synthetic_world
    cwd = tmp_path_factory.mktemp('cwd')
    generate_synthetic_world(str(cwd / 'data' / 'synthetic'),
                             SyntheticWorldConfig(num_train=4, num_val=2, num_dev=2,
                                                  image_size=32))
    return cwd


def _datasets(cfg):
    """(where, dataset config) of every dataloader, through dataset wrappers."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(key) or {}).get('dataset')
        while dataset is not None:
            yield key, dataset
            dataset = dataset.get('dataset')


def _without_missing_weights(node):
    """``node`` with every ``checkpoint`` naming missing files set to ``None``."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            files = [value] if isinstance(value, str) else value
            if key == 'checkpoint' and isinstance(files, (list, tuple)) and \
                    not all(osp.isfile(f) for f in files):
                value = None
            out[key] = _without_missing_weights(value)
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(_without_missing_weights(v) for v in node)
    return node


def _metric_cfgs(evaluator):
    if evaluator is None:
        return []
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']
    return evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_config_builds(path, world_cwd, monkeypatch):
    monkeypatch.chdir(world_cwd)
    cfg = Config.fromfile(path)
    training = [cfg.get(k) is not None for k in ('train_dataloader', 'train_cfg', 'optim_wrapper')]
    assert len(set(training)) == 1, (  # what mmengine's Runner requires
        f'{path}: train_dataloader, train_cfg and optim_wrapper must be all set or all None, '
        f'got {training}')
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
    assert checkpoint is None or checkpoint['type'] == 'AtomicCheckpointHook', (
        f'{path}: checkpoints must be saved with AtomicCheckpointHook (crash-safe), got '
        f'{checkpoint}')
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    scope = cfg.get('default_scope', 'mmengine')
    with DefaultScope.overwrite_default_scope(scope):
        model_cfg = ConfigDict(_without_missing_weights(cfg.model.to_dict()))
        key = (scope, repr(model_cfg))
        if key not in _BUILT_MODELS:
            _BUILT_MODELS.clear()  # keep one model in memory at a time
            _BUILT_MODELS[key] = _build(model_cfg)
        model = _BUILT_MODELS[key]
        assert model is not None
        pipelines = 0
        for _, dataset in _datasets(cfg):
            if dataset.get('pipeline') is not None:
                Compose(dataset['pipeline'])
                pipelines += 1
        assert pipelines > 0, f'{path}: no data pipeline in any dataloader'
        for evaluator in ('val_evaluator', 'test_evaluator'):
            for metric in _metric_cfgs(cfg.get(evaluator)):
                try:
                    METRICS.build(metric)
                except FileNotFoundError as error:  # a metric that reads its annotations
                    missing = error.filename or str(error)
                    assert 'data/' in missing and not osp.exists(missing), error
        for hook in cfg.get('custom_hooks', []):
            HOOKS.build(hook)
