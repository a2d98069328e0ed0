"""The main job end to end (2 iterations per model) on a small world with other held-out classes."""
import json
import os
import os.path as osp

import pytest


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
    module.main(argv)
    return module, argv, data, work


def test_every_step_leaves_its_outputs(main_job_run):
    _, _, data, work = main_job_run
    with open(osp.join(data, 'vocabularies', 'held_out.txt')) as f:
        assert f.read().split() == ['circle', 'ring', 'sand']
    for step in ('pretrain', 'semseg', 'panoptic'):
        assert osp.isfile(osp.join(work, step, 'last_checkpoint'))
        assert osp.isfile(osp.join(work, step, 'metrics.json'))
    for task in ('semantic', 'panoptic', 'dense_zero_shot'):
        pictures = [f for _, _, files in os.walk(osp.join(work, 'pictures', task)) for f in files
                    if f.endswith(('.png', '.jpg'))]
        assert len(pictures) == 2, pictures


def test_the_table_has_every_metric_with_its_splits(main_job_run):
    module, _, _, work = main_job_run
    with open(osp.join(work, 'results.json')) as f:
        results = json.load(f)['metrics']
    assert list(results) == [row for row, *_ in module.ROWS]
    for row, values in results.items():
        assert values['all'] is not None, row
        assert values['seen'] is not None or values['held_out'] is not None, row
        for value in values.values():
            assert value is None or 0 <= value <= 100, (row, values)
    with open(osp.join(work, 'results.md')) as f:
        table = f.read()
    assert 'held out: circle, ring, sand' in table
    assert table.count('\n| ') == len(module.ROWS) + 2  # header, rule, rows


def test_a_second_run_skips_finished_steps(main_job_run, capsys):
    module, argv, _, work = main_job_run
    before = os.path.getmtime(osp.join(work, 'pretrain', 'metrics.json'))
    module.main(argv)
    out = capsys.readouterr().out
    assert out.count('done already') == 10  # world, 3 x (train, test), 3 x pictures
    assert os.path.getmtime(osp.join(work, 'pretrain', 'metrics.json')) == before


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
