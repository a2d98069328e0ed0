"""tools/main_job.py: the commands of each world (dry run), the per-world and mean +- std tables
on hand-made metrics, and the whole job end to end (2 iterations per model) on a small world
with other held-out classes."""
import json
import os
import os.path as osp
import types

import pytest

CHANCE = {'zero_shot_cls/top1': 10.0, 'region/top1': 10.0, 'mIoU': 5.0, 'mIoU_held_out': 4.0}


def commands(out: str) -> list:
    """The commands a run printed, in order (run or skipped)."""
    return [line.strip() for line in out.splitlines()
            if line.startswith(('    python ', '    UMG_SYNTHETIC_ROOT='))]


def test_dry_run_prints_every_worlds_commands(load_tool, capsys, tmp_path):
    module = load_tool('main_job.py')
    work = str(tmp_path / 'mj')
    module.main(['--seeds', '0', '1', '2', '--work-dir', work, '--dry-run'])
    printed = commands(capsys.readouterr().out)
    assert len(printed) == 3 * 12  # per world: world, 3 trainings, 5 tests, 2 pictures, demo
    assert not osp.exists(work)  # nothing written
    for seed, (root, held) in enumerate([('data/synthetic', 'star,heart --held-out-stuff brick'),
                                         ('data/synthetic_seed1', 'circle,ring --held-out-stuff '
                                          'sand'),
                                         ('data/synthetic_seed2', 'triangle,crescent '
                                          '--held-out-stuff water')]):
        mine = printed[12 * seed:12 * (seed + 1)]
        wd = f'{work}/seed{seed}'
        env = '' if seed == 0 else f'UMG_SYNTHETIC_ROOT={root} '
        assert mine[0] == (f'python tools/make_synthetic_data.py {root} --seed {seed} '
                           f'--held-out-things {held}')
        assert mine[1] == f'{env}python tools/train.py {module.PRETRAIN} --work-dir {wd}/pretrain'
        assert all(c.startswith(env + 'python tools/') for c in mine[1:])
        ckpt = f'{wd}/pretrain/CHECKPOINT.pth'
        assert mine[2] == (f'{env}python tools/test.py {module.PRETRAIN} {ckpt} --work-dir '
                           f'{wd}/pretrain --metrics-out {wd}/pretrain/metrics.json')
        assert mine[3].endswith(f'--work-dir {wd}/semseg --cfg-options load_from={ckpt}')
        assert mine[5] == (f'{env}python tools/test.py {module.SEMSEG} {wd}/semseg/CHECKPOINT.pth '
                           f'--work-dir {wd}/semseg --metrics-out {wd}/semseg/metrics_head.json '
                           f'--cfg-options model.fallback=None')
        assert mine[6].endswith(f'--cfg-options model.clip.checkpoint={ckpt}')
        assert mine[8].endswith(f'--metrics-out {wd}/panoptic/metrics_head.json '
                                f'--cfg-options model.fallback=None')
        assert f'--vocab {root}/vocabularies/all.txt' in mine[11]


def test_world_arguments_that_do_not_go_together(load_tool):
    module = load_tool('main_job.py')
    with pytest.raises(SystemExit):
        module.parse_args(['--seeds', '1', '--data-root', '/tmp/w'])
    with pytest.raises(SystemExit):
        module.parse_args(['--world-args', '--seed 3'])
    args = module.parse_args(['--data-root', '/tmp/w3/', '--world-args', '--seed 3 --num-val 6'])
    assert module.worlds(args) == [('w3', '/tmp/w3/', ['--seed', '3', '--num-val', '6'])]
    assert module.worlds(module.parse_args([]))[0][:2] == ('seed0', 'data/synthetic')


def _fake_world(tmp_path, seed, held_out):
    root = tmp_path / f'world{seed}'
    (root / 'vocabularies').mkdir(parents=True)
    (root / 'vocabularies' / 'held_out.txt').write_text('\n'.join(held_out) + '\n')
    return types.SimpleNamespace(data_root=str(root), make_args=lambda: ['--seed', str(seed)])


def _write(path, metrics):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(metrics, f)


def test_tables_of_each_world_and_over_the_worlds(load_tool, tmp_path, monkeypatch, capsys):
    """Two worlds' hand-made metrics: each world's table, then mean +- sample std, chance."""
    module = load_tool('main_job.py')
    worlds = {0: _fake_world(tmp_path, 0, ['star']), 1: _fake_world(tmp_path, 1, ['ring'])}
    monkeypatch.setattr(module, 'seed_world', worlds.__getitem__)
    monkeypatch.setattr(module, 'chance_of', lambda data_root: dict(
        CHANCE, **({'coco_panoptic/PQ': 1.0} if data_root.endswith('1') else {})))
    ran = []

    def fake_run(self, step, argv, outputs=()):
        ran.append((self.data_root, step))
        self.times[step] = 30.0

    monkeypatch.setattr(module.Job, 'run', fake_run)
    work = tmp_path / 'mj'
    values = [  # (world, file, metrics)
        (0, 'pretrain/metrics.json', {'zero_shot_cls/top1': 40.0, 'zero_shot_cls/top1_seen': 50.0,
                                      'zero_shot_cls/top1_held_out': 20.0}),
        (1, 'pretrain/metrics.json', {'zero_shot_cls/top1': 44.0, 'zero_shot_cls/top1_seen': 54.0,
                                      'zero_shot_cls/top1_held_out': None}),
        (0, 'semseg/metrics.json', {'mIoU': 30.0, 'mIoU_seen': 35.0, 'mIoU_held_out': 10.0}),
        (1, 'semseg/metrics.json', {'mIoU': 34.0, 'mIoU_seen': 37.0, 'mIoU_held_out': 14.0}),
        (0, 'semseg/metrics_head.json', {'mIoU': 25.0, 'mIoU_seen': 35.0, 'mIoU_held_out': 0.5}),
        (0, 'panoptic/metrics.json', {'coco_panoptic/PQ': 20.0, 'coco_panoptic/PQ_th': 8.0,
                                      'coco_panoptic/PQ_st': 60.0}),
        (1, 'panoptic/metrics.json', {'coco_panoptic/PQ': 24.0, 'coco_panoptic/PQ_th': 12.0,
                                      'coco_panoptic/PQ_st': 64.0}),
    ]
    for seed, rel_path, metrics in values:
        _write(str(work / f'seed{seed}' / rel_path), metrics)
    for seed in (0, 1):
        for step in ('pretrain', 'semseg', 'panoptic'):
            (work / f'seed{seed}' / step / 'last_checkpoint').write_text('/x/iter_2.pth')
    module.main(['--seeds', '0', '1', '--work-dir', str(work), '--pictures', '0'])
    assert len(ran) == 2 * 9 and ran[0] == (worlds[0].data_root, 'world')

    seed0 = (work / 'seed0' / 'results.md').read_text()
    assert 'world seed0' in seed0 and 'held out: star' in seed0 and '4.5 min' in seed0
    assert '| zero-shot classification top-1 | 40.0 | 50.0 | 20.0 | 10.0 / - / - |' in seed0
    assert '| semantic mIoU, head alone | 25.0 | 35.0 | 0.5 | 5.0 / - / 4.0 |' in seed0
    assert '| panoptic PQ things, head + fallback | 8.0 | - | - | - / - / - |' in seed0
    assert '| zero-shot multi-label mAP | - | - | - | - / - / - |' in seed0  # no such key yet

    table = (work / 'results.md').read_text()
    assert 'n = 2' in table and '9.0 min in all' in table
    assert '| zero-shot classification top-1 | 42.0 +- 2.8 | 52.0 +- 2.8 | 20.0 +- - (n=1) | ' \
           '10.0 / - / - |' in table  # world 1 has no held-out value
    assert '| semantic mIoU, head + fallback | 32.0 +- 2.8 | 36.0 +- 1.4 | 12.0 +- 2.8 | ' \
           '5.0 / - / 4.0 |' in table
    assert '| semantic mIoU, head alone | 25.0 +- - (n=1) |' in table
    assert '| panoptic PQ, head + fallback | 22.0 +- 2.8 | - | - | 1.0 / - / - |' in table
    assert table.count('\n| ') == len(module.ROWS) + 2
    saved = json.loads((work / 'results.json').read_text())
    assert saved['n'] == 2 and saved['worlds'] == {'seed0': worlds[0].data_root,
                                                   'seed1': worlds[1].data_root}
    assert saved['metrics']['semantic mIoU, head + fallback']['held_out'] == \
        {'mean': 12.0, 'std': pytest.approx(2 ** 0.5 * 2), 'n': 2}
    assert saved['metrics']['zero-shot multi-label mAP']['all'] == \
        {'mean': None, 'std': None, 'n': 0}
    assert saved['minutes'] == {'seed0': 4.5, 'seed1': 4.5, 'total': 9.0}
    assert saved['chance']['panoptic PQ, head alone'] == \
        {'all': 1.0, 'seen': None, 'held_out': None}  # the one world stating it
    assert 'Main job over 2 world(s)' in capsys.readouterr().out

    # a second run whose steps are all done keeps each world's step times
    monkeypatch.setattr(module.Job, 'run', lambda self, step, argv, outputs=(): None)
    module.main(['--seeds', '0', '1', '--work-dir', str(work), '--pictures', '0'])
    assert json.loads((work / 'results.json').read_text())['minutes']['total'] == 9.0


@pytest.fixture(scope='module')
def main_job_run(tmp_path_factory):
    import importlib.util
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    spec = importlib.util.spec_from_file_location('main_job', osp.join(root, 'tools', 'main_job.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tmp = tmp_path_factory.mktemp('main_job')
    data, work = str(tmp / 'world'), str(tmp / 'work')
    argv = ['--data-root', data, '--work-dir', work, '--max-iters', '2', '--pictures', '2',
            '--world-args', '--seed 3 --num-train 8 --num-val 6 --image-size 64 '
            '--held-out-things circle,ring --held-out-stuff sand']
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, 'chance_of', lambda data_root: CHANCE)
        module.main(argv)
    return module, argv, data, osp.join(work, 'world')


def test_every_step_leaves_its_outputs(main_job_run):
    _, _, data, world = main_job_run
    with open(osp.join(data, 'vocabularies', 'held_out.txt')) as f:
        assert f.read().split() == ['circle', 'ring', 'sand']
    for step in ('pretrain', 'semseg', 'panoptic'):
        assert osp.isfile(osp.join(world, step, 'last_checkpoint'))
        assert osp.isfile(osp.join(world, step, 'metrics.json'))
    for step in ('semseg', 'panoptic'):
        assert osp.isfile(osp.join(world, step, 'metrics_head.json'))
    for task in ('semantic', 'panoptic', 'dense_zero_shot'):
        pictures = [f for _, _, files in os.walk(osp.join(world, 'pictures', task)) for f in files
                    if f.endswith(('.png', '.jpg'))]
        assert len(pictures) == 2, pictures


def test_the_table_has_every_metric_with_its_splits(main_job_run):
    module, _, _, world = main_job_run
    with open(osp.join(world, 'results.json')) as f:
        results = json.load(f)
    assert list(results['metrics']) == [row for row, *_ in module.ROWS]
    assert results['minutes'] > 0 and results['held_out'] == 'circle, ring, sand'
    present = {'zero_shot_cls/mAP', 'zero_shot_cls/any_top1'}  # issue 20's new keys, if written
    for (row, _, key), values in zip(module.ROWS, results['metrics'].values()):
        assert values['all'] is not None or key in present, row
        for value in values.values():
            assert value is None or 0 <= value <= 100, (row, values)
    with open(osp.join(world, 'results.md')) as f:
        table = f.read()
    assert 'held out: circle, ring, sand' in table
    assert table.count('\n| ') == len(module.ROWS) + 2  # header, rule, rows
    with open(osp.join(osp.dirname(world), 'results.json')) as f:
        assert json.load(f)['n'] == 1


def test_a_second_run_skips_finished_steps(main_job_run, capsys, monkeypatch):
    module, argv, _, world = main_job_run
    monkeypatch.setattr(module, 'chance_of', lambda data_root: CHANCE)
    before = os.path.getmtime(osp.join(world, 'pretrain', 'metrics.json'))
    module.main(argv)
    out = capsys.readouterr().out
    assert out.count('done already') == 12  # world, 3 x (train, test), 2 head tests, 3 pictures
    assert os.path.getmtime(osp.join(world, 'pretrain', 'metrics.json')) == before


def test_pictures_show_the_images_with_most_held_out_pixels(main_job_run):
    module, _, data, _ = main_job_run
    with open(osp.join(data, 'annotations', 'panoptic_val.json')) as f:
        panoptic = json.load(f)
    held = {c['id'] for c in panoptic['categories'] if c['name'] in ('circle', 'ring', 'sand')}
    by_name = sorted(panoptic['annotations'], key=lambda a: a['file_name'])
    area = [sum(s['area'] for s in a['segments_info'] if s['category_id'] in held)
            for a in by_name]
    chosen = module.held_out_images(data, 2)
    assert min(area[i] for i in chosen) >= max(
        [a for i, a in enumerate(area) if i not in chosen], default=0)
