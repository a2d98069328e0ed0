"""Pretraining launched like a user would: 2 CPU ranks (one whose images have no regions, masks or
captions), resuming, tools/test.py's zero-shot metrics, and the ablation command."""
import json
import math
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import umg_mm  # noqa: F401  (allow-lists what mmengine checkpoints hold for torch.load)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = 'configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py'
SMALL = ['train_dataloader.batch_size=2', 'train_dataloader.sampler.shuffle=False',
         'val_dataloader.batch_size=2', 'test_dataloader.batch_size=2',
         'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2']


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run(cmd, world):
    env = dict(os.environ, PYTHON=sys.executable, UMG_SYNTHETIC_ROOT=str(world),
               PORT=str(_free_port()), PYTHONPATH=str(ROOT))
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, \
        f'{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}'
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """A 16-image world whose odd images (rank 1's, with an unshuffled sampler) have no
    regions and no segments, and whose image 2 (rank 0's) has no caption or tag."""
    out = tmp_path_factory.mktemp('world')
    _run([sys.executable, 'tools/make_synthetic_data.py', str(out), '--num-train', '16',
          '--num-val', '4', '--num-dev', '2', '--image-size', '64', '--overwrite'], out)
    index = out / 'umg' / 'train.jsonl'
    records = [json.loads(line) for line in index.read_text().splitlines()]
    for i, record in enumerate(records):
        if i % 2:
            record['regions'], record['segments'] = [], []
    records[2]['captions'], records[2]['tags'] = [], []
    index.write_text(''.join(json.dumps(r) + '\n' for r in records))
    return out


def _losses(log, name):
    return [float(v) for v in re.findall(rf'{name}: (\S+)', log)]


def test_two_ranks_with_an_empty_rank_then_resume_and_test(world, tmp_path):
    work = tmp_path / 'work'
    log = _run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(work),
                '--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=4', *SMALL],
               world)
    assert 'Distributed training: True' in log
    for name in ('loss_image_text', 'loss_region_text', 'loss_pixel_text'):
        values = _losses(log, name)
        assert len(values) == 4 and all(math.isfinite(v) for v in values), (name, values)
    assert 'region/top1' in log and 'dense/mIoU_held_out' in log
    assert torch.load(work / 'iter_4.pth', weights_only=True)['meta']['iter'] == 4

    log = _run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(work), '--resume',
                '--cfg-options', 'train_cfg.max_iters=6', 'train_cfg.val_interval=100', *SMALL],
               world)
    assert 'resumed epoch: 0, iter: 4' in log
    assert 'Iter(train) [5/6]' in log and 'Iter(train) [1/6]' not in log
    assert torch.load(work / 'iter_6.pth', weights_only=True)['meta']['iter'] == 6

    log = _run([sys.executable, 'tools/test.py', CONFIG, str(work / 'iter_6.pth'), '--work-dir',
                str(tmp_path / 'test'), '--cfg-options', 'test_dataloader.batch_size=2'], world)
    for key in ('zero_shot_cls/top1_seen', 'zero_shot_cls/mAP_held_out', 'zero_shot_cls/any_top1',
                'retrieval/t2i_R@10', 'region/mean_acc_held_out', 'dense/mIoU'):
        assert key in log, key


def test_ablation_command_prints_its_tables(world, tmp_path, load_tool, monkeypatch, capsys):
    """tools/run_ablation.py on one world: two arms trained one iteration, a read-out test of
    the all arm; each a tools/ command in its own process."""
    tool = load_tool('run_ablation.py')
    monkeypatch.setattr(tool.main_job, 'chance_of', lambda data_root: {'region/top1': 10.0})
    monkeypatch.setenv('PYTHONPATH', str(ROOT))
    tool.main(['--data-root', str(world), '--iters', '1', '--batch-size', '2', '--arms', 'image',
               'all@value', '--work-dir', str(tmp_path)])
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith('| ')]
    assert table[0].startswith('| arm | cls top-1 |') and len(table) == 3 * 6 + 6
    assert [row.split(' |')[0] for row in table[2:6]] == \
        ['| image', '| all', '| all, dense read-out value', '| chance']
    results = json.loads((tmp_path / 'ablation.json').read_text())['results'][world.name]
    assert set(results) == {'image', 'all', 'all@value'}
    assert 'dense/mIoU_held_out' in results['all']
    assert results['all@value']['retrieval/i2t_R@1'] == results['all']['retrieval/i2t_R@1']
    assert (tmp_path / world.name / 'configs' / 'all.py').is_file()
