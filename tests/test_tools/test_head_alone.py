"""``tools/test.py CONFIG CKPT --cfg-options model.fallback=None`` tests the head alone, in the
mmseg segmentor and in the mmdet detector: other predictions and other numbers than with the
fallback, on a case where the fallback fires (random towers, every pixel uncovered and any
class allowed to fill)."""
import json
import os
import pickle
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from umg_mm.datasets.synthetic import SyntheticWorldConfig, generate_synthetic_world

ROOT = Path(__file__).resolve().parents[2]
SEMANTIC = str(ROOT / 'configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py')
PANOPTIC = str(ROOT / 'configs/umg/'
               'umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py')


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('head_alone') / 'world')
    extra = {'num_dev': 1} if 'num_dev' in {f.name for f in fields(SyntheticWorldConfig)} else {}
    generate_synthetic_world(root, SyntheticWorldConfig(num_train=1, num_val=4, image_size=64,
                                                        **extra))
    return root


def _test(config, checkpoint, out, world, options):
    cmd = [sys.executable, str(ROOT / 'tools/test.py'), config, checkpoint, '--work-dir',
           str(out), '--metrics-out', str(out / 'metrics.json'), '--out', str(out / 'preds.pkl'),
           '--cfg-options', 'test_dataloader.batch_size=4', *options]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, UMG_SYNTHETIC_ROOT=world,
                                     PYTHONPATH=os.pathsep.join(
                                         [str(ROOT), os.environ.get('PYTHONPATH', '')])))
    assert result.returncode == 0, result.stderr[-5000:]
    with open(out / 'metrics.json') as f, open(out / 'preds.pkl', 'rb') as g:
        return json.load(f), pickle.load(g)


@pytest.mark.parametrize('config, fires, prediction', [
    (SEMANTIC, ['model.fallback.coverage_thr=100'], ('pred_sem_seg', 'data')),
    (PANOPTIC, [], ('pred_panoptic_seg', 'sem_seg')),
])
def test_fallback_none_is_the_head_alone(config, fires, prediction, world, random_checkpoint,
                                         monkeypatch, tmp_path):
    monkeypatch.setenv('UMG_SYNTHETIC_ROOT', world)
    checkpoint = random_checkpoint(config, str(tmp_path / 'model.pth'))
    fallback_metrics, fallback_preds = _test(config, checkpoint, tmp_path / 'fallback', world,
                                             fires + ['model.fallback.seen_classes=None'])
    head_metrics, head_preds = _test(config, checkpoint, tmp_path / 'head', world,
                                     ['model.fallback=None'])
    assert set(head_metrics) == set(fallback_metrics)
    assert head_metrics != fallback_metrics
    key, field = prediction
    changed = [not np.array_equal(np.asarray(a[key][field]), np.asarray(b[key][field]))
               for a, b in zip(head_preds, fallback_preds)]
    assert len(changed) == 4 and any(changed)
