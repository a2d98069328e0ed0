"""The synthetic panoptic recipe end to end: tools/dist_train.sh with two CPU ranks, then
tools/test.py with CocoPanopticMetric (seen / held-out PQ) and --show-dir pictures."""
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch

import umg_mm  # noqa: F401  (allow-lists what mmengine checkpoints hold for torch.load)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = 'configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py'
SHORT = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
         'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2',
         'test_dataloader.batch_size=2',
         # no pretrained tiny CLIP here: random towers, said explicitly
         'model.clip.checkpoint=random']


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run(cmd, world, **env):
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, PYTHON=sys.executable,
                                     UMG_SYNTHETIC_ROOT=str(world),
                                     # this checkout's umg_mm, whichever one is installed
                                     PYTHONPATH=os.pathsep.join(
                                         [str(ROOT), os.environ.get('PYTHONPATH', '')]),
                                     **env))
    assert result.returncode == 0, f'{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}'
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp('world')
    _run([sys.executable, 'tools/make_synthetic_data.py', str(out), '--num-train', '8',
          '--num-val', '4', '--num-dev', '2', '--image-size', '64', '--overwrite'], out)
    return out


def test_dist_train_two_ranks_then_test_with_panoptic_metrics_and_pictures(world, tmp_path):
    work = tmp_path / 'work'
    log = _run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(work),
                '--cfg-options', *SHORT], world, PORT=str(_free_port()))
    assert 'Distributed training: True' in log
    assert 'train vocabulary: 8 things + 6 stuff' in log  # seen classes only
    assert 'val vocabulary: 10 things + 7 stuff' in log  # every class at evaluation
    assert torch.load(work / 'iter_2.pth', weights_only=True)['meta']['iter'] == 2

    shows, preds = tmp_path / 'show', tmp_path / 'preds.pkl'
    log = _run([sys.executable, 'tools/test.py', CONFIG, str(work / 'iter_2.pth'),
                '--work-dir', str(tmp_path / 'test'), '--show-dir', str(shows),
                '--out', str(preds), '--cfg-options', *SHORT], world)
    for key in ('coco_panoptic/PQ:', 'coco_panoptic/PQ_th', 'coco_panoptic/PQ_st',
                'coco_panoptic/PQ_seen', 'coco_panoptic/PQ_held_out', 'panoptic_semseg/mIoU'):
        assert key in log, key
    pictures = sorted(shows.rglob('*.jpg')) + sorted(shows.rglob('*.png'))
    assert len(pictures) == 4, pictures
    picture = cv2.imread(str(pictures[0]))
    # ground truth and prediction side by side, each enlarged 8x (umg_mm.visualization)
    assert picture.shape[1] >= 2 * 64 * 8
    with open(preds, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4
    assert results[0]['pred_panoptic_seg']['sem_seg'].shape[-2:] == (64, 64)
