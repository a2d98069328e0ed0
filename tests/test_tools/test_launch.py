"""tools/dist_train.sh with two CPU ranks, resuming with tools/train.py, tools/test.py outputs."""
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import umg_mm  # noqa: F401  (allow-lists what mmengine checkpoints hold for torch.load)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = 'configs/umg/fcn_umg-clip-vit-tiny_2xb4-8it_synthetic-64x64.py'


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run(cmd, **env):
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, PYTHON=sys.executable, **env))
    assert result.returncode == 0, f'{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}'
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp('world')
    _run([sys.executable, 'tools/make_synthetic_data.py', str(out), '--num-train', '16',
          '--num-val', '4', '--num-dev', '2', '--image-size', '64', '--overwrite'])
    return out


def _data_options(world):
    return [f'{split}_dataloader.dataset.data_root={world}' for split in ('train', 'val', 'test')]


def test_dist_train_two_cpu_ranks_then_resume(world, tmp_path):
    work = tmp_path / 'work'
    log = _run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(work),
                '--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
                *_data_options(world)], PORT=str(_free_port()))
    assert "dist_cfg: {'backend': 'gloo'}" in log and 'Distributed training: True' in log
    ckpt = torch.load(work / 'iter_4.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 4
    assert 'mIoU' in log

    log = _run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', str(work), '--resume',
                '--cfg-options', 'train_cfg.max_iters=6', 'train_cfg.val_interval=100',
                *_data_options(world)])
    assert 'resumed epoch: 0, iter: 4' in log
    assert 'Iter(train) [5/6]' in log and 'Iter(train) [1/6]' not in log
    assert torch.load(work / 'iter_6.pth', weights_only=True)['meta']['iter'] == 6

    shows, preds = tmp_path / 'show', tmp_path / 'preds.pkl'
    log = _run([sys.executable, 'tools/test.py', CONFIG, str(work / 'iter_6.pth'),
                '--work-dir', str(tmp_path / 'test'), '--show-dir', str(shows),
                '--out', str(preds), '--cfg-options', *_data_options(world)])
    assert 'mIoU' in log
    pictures = list(shows.rglob('*.png')) + list(shows.rglob('*.jpg'))
    assert len(pictures) == 4, pictures
    with open(preds, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4 and results[0]['pred_sem_seg']['data'].shape[-2:] == (64, 64)


def test_test_tool_names_a_missing_checkpoint(tmp_path):
    result = subprocess.run([sys.executable, 'tools/test.py', CONFIG, str(tmp_path / 'no.pth')],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and f'checkpoint {tmp_path / "no.pth"} does not exist' in result.stderr


@pytest.mark.parametrize('script,args,expected', [
    ('slurm_train.sh', ['part', 'job', 'cfg.py', 'wd', '--amp'],
     '--ntasks=16 --ntasks-per-node=8 --cpus-per-task=5 --kill-on-bad-exit=1 python -u '
     'tools/train.py cfg.py --work-dir=wd --amp --launcher=slurm'),
    ('slurm_test.sh', ['part', 'job', 'cfg.py', 'ck.pth', '--show-dir', 'x'],
     '--ntasks=16 --ntasks-per-node=8 --cpus-per-task=5 --kill-on-bad-exit=1 python -u '
     'tools/test.py cfg.py ck.pth --show-dir x --launcher=slurm'),
])
def test_slurm_scripts_call_srun_with_the_tool(tmp_path, script, args, expected):
    fake = tmp_path / 'srun'
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    result = subprocess.run(['bash', f'tools/{script}', *args], cwd=ROOT, capture_output=True,
                            text=True, env=dict(os.environ, GPUS='16', PYTHON='python',
                                                PATH=f'{tmp_path}:{os.environ["PATH"]}'))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('-p part --job-name=job --gres=gpu:8 ')
    assert result.stdout.strip().endswith(expected), result.stdout
