"""Shipped configs: environment values reach them as strings (no code, any path), and every
training config checkpoints with AtomicCheckpointHook.

mmengine's ``{{$VAR:default}}`` pastes the value into the config's source; the configs read
``__import__('os').environ`` instead (an ``import os`` statement would switch mmengine 0.10.7 to
its lazy-import config format under Python 3.11, whose ``os`` is a frozen module).
"""
import glob
import os
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHIPPED = sorted(glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True) +
                 glob.glob(osp.join(ROOT, 'projects', '*', 'configs', '*.py')))
# configs that read the synthetic world's folder, and the key holding it
SYNTHETIC = {
    'configs/_base_/datasets/umg_synthetic_semseg.py': ('synthetic_root', ''),
    'configs/_base_/datasets/synthetic_umg_pretrain.py': ('data_root', '/'),
    'configs/umg/fcn_umg-clip-vit-tiny_2xb4-8it_synthetic-64x64.py': ('data_root', ''),
    'configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py': (
        'train_vocabulary', '/vocabularies/seen.txt'),
    'configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py': (
        'data_root', '/'),
    'configs/umg/umg-dense-zero-shot_vit-tiny_synthetic-64x64.py': (
        'model.test_vocabulary', '/vocabularies/all.txt'),
    'projects/umg_mask2former_panoptic/configs/umg-mask2former_clip-tiny_synthetic-64x64.py': (
        'data_root', '/'),
    'projects/umg_backbone_ade20k_semseg/configs/'
    'umg-clip-tiny_mask2former_synthetic-closed-64x64.py': ('data_root', '/'),
    'projects/umg_clip_zeroshot_mmpretrain/configs/umg-clip-tiny_zeroshot-cls_synthetic.py': (
        'data_root', '/'),
}


def _get(cfg, key):
    for part in key.split('.'):
        cfg = cfg[part]
    return cfg


def test_no_shipped_config_pastes_environment_values_into_its_source():
    for path in SHIPPED:
        with open(path, encoding='utf-8') as f:
            assert '{{$' not in f.read(), f'{path} uses an mmengine {{{{$VAR:default}}}} ' \
                'placeholder, pasted into the source; use os.environ.get'


def _hostile_root(tmp_path, monkeypatch):
    """A world folder whose name has quotes and an apostrophe, and would write ``marker`` if it
    were pasted into a config's source."""
    marker = tmp_path / 'marker'
    root = str(tmp_path / f"it's a \"world\"') + open({str(marker)!r}, 'w').write('x') + ('")
    monkeypatch.setenv('UMG_SYNTHETIC_ROOT', root)
    return root, marker


@pytest.mark.parametrize('rel', sorted(SYNTHETIC))
def test_a_path_with_quotes_reaches_the_config_as_a_string(rel, tmp_path, monkeypatch):
    key, suffix = SYNTHETIC[rel]
    root, marker = _hostile_root(tmp_path, monkeypatch)
    assert _get(Config.fromfile(osp.join(ROOT, rel)), key) == root + suffix
    assert not marker.exists()


def test_the_value_survives_dump_reload_and_cfg_options(tmp_path, monkeypatch):
    rel = 'configs/_base_/datasets/umg_synthetic_semseg.py'  # small: yapf formats it quickly
    key, suffix = SYNTHETIC[rel]
    root, marker = _hostile_root(tmp_path, monkeypatch)
    cfg = Config.fromfile(osp.join(ROOT, rel))
    dumped = tmp_path / 'dumped.py'
    cfg.dump(str(dumped))
    monkeypatch.setenv('UMG_SYNTHETIC_ROOT', 'elsewhere')
    assert _get(Config.fromfile(str(dumped)), key) == root + suffix
    assert not marker.exists()
    cfg.merge_from_dict({key: 'data/other'})  # what --cfg-options does
    assert _get(cfg, key) == 'data/other'


def test_default_world_folder_without_the_variable(monkeypatch):
    monkeypatch.delenv('UMG_SYNTHETIC_ROOT', raising=False)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/umg_synthetic_semseg.py'))
    assert cfg.synthetic_root == 'data/synthetic'


PROJECT_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'projects', '*', 'configs', '*.py')))


@pytest.mark.parametrize('path', PROJECT_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_every_project_config_saves_checkpoints_atomically(path):
    """(configs/umg/*: in test_umg_configs.py, which loads them anyway)"""
    hook = Config.fromfile(path).get('default_hooks', {}).get('checkpoint')
    assert hook is not None and hook['type'] == 'AtomicCheckpointHook', hook
