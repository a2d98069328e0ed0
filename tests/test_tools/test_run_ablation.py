"""tools/run_ablation.py: each arm's config field by field, the commands of each world (dry run),
and the tables over the worlds on hand-made metrics. The command itself, trained for one
iteration, is tested in test_pretrain_launch.py."""
import json
import os
import os.path as osp
import types

import pytest
from mmengine.config import Config

from tests.test_tools.test_main_job import commands

LOSSES = ('image_text', 'region_text', 'pixel_text')


@pytest.fixture
def tool(load_tool):
    return load_tool('run_ablation.py')


def _cli(options):
    """``--cfg-options`` parsed as tools/train.py and tools/test.py parse them."""
    import argparse

    from umg_mm.utils.launch import add_common_args
    parser = argparse.ArgumentParser()
    add_common_args(parser)
    return parser.parse_args(['config.py', '--cfg-options', *options]).cfg_options


def test_arm_configs(tool, tmp_path, monkeypatch):
    monkeypatch.setenv('UMG_SYNTHETIC_ROOT', '/worlds/w1')
    args = tool.parse_args(['--iters', '40', '--finetune-iters', '20', '--batch-size', '4',
                            '--seed', '5', '--work-dir', str(tmp_path)])
    expected = {'image': {'image_text'}, 'image+region': {'image_text', 'region_text'},
                'image+pixel': {'image_text', 'pixel_text'}, 'all': set(LOSSES),
                'all+crop-distill': set(LOSSES), 'finetune-scale-ckpt': set(LOSSES),
                'finetune-scale-init': set(LOSSES)}
    for arm, losses in expected.items():
        init = 'w/image/iter_40.pth' if arm.startswith('finetune') else None
        cfg = tool.arm_config(args, arm, init=init)
        assert {k for k in LOSSES if cfg.model[f'{k}_loss'] is not None} == losses, arm
        assert cfg.model.pixel_dense_loss is None
        assert cfg.model.get('region_crop_distill_loss') == (
            dict(type='RegionCropDistillLoss') if arm == 'all+crop-distill' else None), arm
        iters = 20 if init else 40
        assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=iters,
                                     val_interval=iters + 1)
        assert [(s.type, s.begin, s.end) for s in cfg.param_scheduler] == \
            [('LinearLR', 0, 4 if not init else 2), ('CosineAnnealingLR', 4 if not init else 2,
                                                     iters)]
        assert cfg.default_hooks.checkpoint.interval == iters
        assert cfg.val_dataloader is None and cfg.val_cfg is None
        assert cfg.train_dataloader.batch_size == 4 and cfg.randomness.seed == 5
        assert cfg.train_dataloader.dataset.data_root == '/worlds/w1/'
        assert cfg.work_dir == osp.join(str(tmp_path), arm.replace('+', '_'))
        if init:  # the image arm's towers, the temperature from them or from 1/0.07
            assert cfg.model.clip == dict(model_name='umg-vit-tiny-8', checkpoint=init)
            assert cfg.model.logit_scale_from_checkpoint is (arm == 'finetune-scale-ckpt')
        else:
            assert cfg.model.clip == dict(model_name='umg-vit-tiny-8', checkpoint='random')
    assert tool.arm_config(args, 'all', work_dir='/w/seed1').work_dir == '/w/seed1/all'


def test_a_written_arm_config_reads_back_and_takes_its_readout(tool, tmp_path, monkeypatch):
    """The config file a world's arm is trained and tested with, and each read-out arm's
    --cfg-options on it, as tools/test.py merges them."""
    args = tool.parse_args(['--work-dir', str(tmp_path)])
    monkeypatch.setenv('UMG_SYNTHETIC_ROOT', '/worlds/before')
    cfg = tool.world_config(args, 'all+crop-distill', '/worlds/w2', str(tmp_path / 'seed2'))
    assert os.environ['UMG_SYNTHETIC_ROOT'] == '/worlds/before'  # restored
    path = tmp_path / 'arm.py'
    path.write_text(cfg.pretty_text)
    back = Config.fromfile(str(path))
    assert back.model.to_dict() == cfg.model.to_dict()
    assert back.train_dataloader.dataset.data_root == '/worlds/w2/'
    assert back.model.backbone.dense_readout == 'tokens'
    for readout in ('tokens', 'value', 'value_block'):
        arm = f'all@{readout}'
        assert tool.ARMS[arm].evaluate == 'all'
        tested = Config.fromfile(str(path))
        tested.merge_from_dict(_cli(tool.readout_options(arm)))
        assert tested.model.backbone.dense_readout == readout
        assert tested.model.backbone.to_dict() == dict(back.model.backbone, dense_readout=readout)


def test_arms_bring_what_they_start_from(tool, tmp_path):
    assert tool.needed_arms(['finetune-scale-init']) == ['image', 'finetune-scale-init']
    assert tool.needed_arms(['all@value', 'image+pixel']) == ['image+pixel', 'all', 'all@value']
    assert tool.needed_arms(['image+region'], segmentation=True) == \
        ['image', 'image+region', 'all']
    assert tool.needed_arms(list(tool.ARMS)) == list(tool.ARMS)
    args = tool.parse_args(['--work-dir', str(tmp_path)])
    with pytest.raises(ValueError, match='only tests the all arm'):
        tool.arm_config(args, 'all@value')
    with pytest.raises(ValueError, match="init=None, but it starts from image"):
        tool.arm_config(args, 'finetune-scale-ckpt')
    with pytest.raises(ValueError, match='starts from random towers'):
        tool.arm_config(args, 'image', init='x.pth')


def test_dry_run_prints_every_worlds_commands(tool, tmp_path, capsys):
    work = str(tmp_path / 'abl')
    tool.main(['--seeds', '0', '1', '--work-dir', work, '--segmentation', '--dry-run'])
    printed = commands(capsys.readouterr().out)
    assert not osp.exists(work)
    per_world = 1 + 7 * 2 + 3 + 2 * 2 * 3  # world, 7 arms x (train, test), 3 read-outs, seg.
    assert len(printed) == 2 * per_world
    for seed, root in ((0, 'data/synthetic'), (1, 'data/synthetic_seed1')):
        mine = printed[per_world * seed:per_world * (seed + 1)]
        wd, env = f'{work}/seed{seed}', '' if seed == 0 else f'UMG_SYNTHETIC_ROOT={root} '
        assert mine[0].startswith(f'python tools/make_synthetic_data.py {root} --seed {seed} ')
        assert mine[1] == f'{env}python tools/train.py {wd}/configs/image.py --work-dir {wd}/image'
        assert mine[2] == (f'{env}python tools/test.py {wd}/configs/image.py '
                           f'{wd}/image/CHECKPOINT.pth --work-dir {wd}/image --metrics-out '
                           f'{wd}/image/metrics.json')
        trained = [c.split()[c.split().index('--work-dir') + 1] for c in mine
                   if 'tools/train.py' in c]
        assert trained[:7] == [f'{wd}/{d}' for d in (
            'image', 'image_region', 'image_pixel', 'all', 'all_crop-distill',
            'finetune-scale-ckpt', 'finetune-scale-init')]
        readouts = [c for c in mine if 'dense_readout' in c]
        assert readouts == [
            f'{env}python tools/test.py {wd}/configs/all.py {wd}/all/CHECKPOINT.pth --work-dir '
            f'{wd}/all_readout_{r} --metrics-out {wd}/all_readout_{r}/metrics.json '
            f'--cfg-options model.backbone.dense_readout={r}' for r in ('tokens', 'value',
                                                                       'value_block')]
        seg = [c for c in mine if '/segmentation/' in c]
        assert len(seg) == 12  # 2 backbones x 2 tasks x (train, test, test of the head alone)
        assert seg[0] == (f'{env}python tools/train.py {tool.main_job.SEMSEG} --work-dir '
                          f'{wd}/segmentation/image/semseg --cfg-options '
                          f'load_from={wd}/image/CHECKPOINT.pth')
        assert seg[3].endswith(f'--work-dir {wd}/segmentation/image/panoptic --cfg-options '
                               f'model.clip.checkpoint={wd}/image/CHECKPOINT.pth')
        assert seg[5].endswith(f'{wd}/segmentation/image/panoptic/metrics_head.json '
                               f'--cfg-options model.fallback=None')
        assert seg[6].endswith(f'load_from={wd}/all/CHECKPOINT.pth')


def test_tables_over_the_worlds(tool, tmp_path, monkeypatch):
    """Two worlds, hand-made metrics of two arms and the segmentation runs."""
    main_job = tool.main_job
    roots = {s: str(tmp_path / f'world{s}') for s in (0, 1)}
    monkeypatch.setattr(main_job, 'seed_world', lambda s: types.SimpleNamespace(
        data_root=roots[s], make_args=lambda: []))
    monkeypatch.setattr(main_job, 'chance_of', lambda data_root: {
        'zero_shot_cls/top1': 10.0, 'region/top1': 10.0 if data_root == roots[0] else 12.0,
        'region/top1_held_out': 9.0, 'mIoU': 6.0})
    monkeypatch.setattr(main_job.Job, 'run', lambda self, step, argv, outputs=(): None)
    work = tmp_path / 'abl'

    def write(rel_path, metrics):
        path = work / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(metrics) if isinstance(metrics, dict) else metrics)

    for seed, (image, everything) in enumerate([(10.0, 30.0), (14.0, 34.0)]):
        for arm, top1 in (('image', image), ('all', everything)):
            write(f'seed{seed}/{arm}/last_checkpoint', '/x/iter_40.pth')
            write(f'seed{seed}/{arm}/metrics.json', {
                'region/top1': top1, 'region/top1_seen': top1 + 5,
                'region/top1_held_out': None if seed and arm == 'image' else top1 - 5})
            for task in ('semseg', 'panoptic'):
                write(f'seed{seed}/segmentation/{arm}/{task}/last_checkpoint', '/x/iter_2.pth')
            write(f'seed{seed}/segmentation/{arm}/semseg/metrics.json',
                  {'mIoU': top1, 'mIoU_held_out': top1 / 2})
            write(f'seed{seed}/segmentation/{arm}/semseg/metrics_head.json', {'mIoU': top1 - 1})
    tool.main(['--seeds', '0', '1', '--work-dir', str(work), '--arms', 'image', 'all',
               '--segmentation', '--iters', '40'])
    text = (work / 'ablation.md').read_text()
    assert (work / 'seed1' / 'configs' / 'all.py').is_file()
    assert 'after 40 iterations per arm' in text and 'n = 2' in text
    tables = [text.split(f'**{title}**\n\n', 1)[1].split('\n\n')[0]
              for title in ('all classes', 'seen classes', 'held-out classes')]
    column = [h for h, _ in tool.COLUMNS].index('region top-1') + 1

    def cells(table, row):
        line = next(r for r in table.splitlines() if r.startswith(f'| {row} |'))
        return line.split(' | ')[column].strip(' |')

    assert cells(tables[0], 'image') == '12.0 +- 2.8' and cells(tables[0], 'all') == '32.0 +- 2.8'
    assert cells(tables[1], 'all') == '37.0 +- 2.8'
    assert cells(tables[2], 'image') == '5.0 +- - (n=1)'  # world 1 has no held-out value
    assert [cells(t, 'chance') for t in tables] == ['11.0', '-', '9.0']
    assert cells(tables[0], 'image').count('+-') == 1 and cells(tables[2], 'all') == '27.0 +- 2.8'
    assert '| cls top-1 |' in tables[0] and cells(tables[0], 'all').startswith('32')
    assert '| image | semantic mIoU, head + fallback | 12.0 +- 2.8 | - | 6.0 +- 1.4 | ' \
           '6.0 / - / - |' in text
    assert '| all | semantic mIoU, head alone | 31.0 +- 2.8 | - | - | 6.0 / - / - |' in text
    assert '| all | panoptic PQ, head alone | - | - | - | - / - / - |' in text
    assert 'World seed1 (' in text and '| image | - (- / -) |' in text  # per-world tables
    assert '| chance | 10.0 (- / -) |' in text
    saved = json.loads((work / 'ablation.json').read_text())
    assert saved['n'] == 2 and saved['iters'] == 40
    assert saved['results']['seed1']['all']['region/top1'] == 34.0
    assert saved['mean']['image']['region/top1_held_out'] == {'mean': 5.0, 'std': None, 'n': 1}
    assert saved['segmentation_mean']['all']['semantic mIoU, head alone']['all']['mean'] == 31.0
    assert saved['chance']['region/top1'] == 11.0 and saved['chance']['dense/mIoU'] is None
    assert saved['chance']['region/top1_held_out'] == 9.0
