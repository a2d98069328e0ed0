"""tools/run_engine_ablation.py: the three arms' training records (labelled subset, subset +
the engine's pseudo-records of the rest, all ground truth) and the command end to end on a tiny
world annotated by the tiny random engine (nothing downloaded)."""
import json
import sys
from pathlib import Path

import pytest

from tests.test_data_engine.tiny_engine import engine_stages, tiny_model_files
from tests.test_tools.test_pretrain_launch import _run  # a tool run in a world, checked


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """A 12-image world and the tiny engine's pseudo-records of its train images."""
    out = tmp_path_factory.mktemp('world')
    _run([sys.executable, 'tools/make_synthetic_data.py', str(out), '--num-train', '12',
          '--num-val', '4', '--num-dev', '2', '--image-size', '64', '--overwrite'], out)
    config = out / 'engine.py'
    config.write_text(f'shard_size = 6\noutput_format = "jsonl"\n'
                      f'stages = {engine_stages(tiny_model_files(out))!r}\n')
    _run([sys.executable, 'tools/build_pseudo_annotations.py', str(out / 'umg' / 'train.jsonl'),
          str(out / 'engine'), '--config', str(config), '--img-root',
          str(out / 'images' / 'train'), '--format', 'jsonl', '--device', 'cpu',
          '--no-progress'], out)
    return out


def _args(load_tool, world, work_dir, *extra):
    tool = load_tool('run_engine_ablation.py')
    return tool, tool.parse_args(['--data-root', str(world), '--work-dir', str(work_dir),
                                  '--pseudo', str(world / 'engine' / 'annotations.jsonl'),
                                  '--labelled', '4', '--iters', '3', *extra])


def _names(path):
    return [json.loads(line)['image']['file_name'] for line in Path(path).read_text().splitlines()]


def test_arms_train_on_the_subset_the_pseudo_rest_or_everything(load_tool, world, tmp_path,
                                                               monkeypatch):
    monkeypatch.setenv('UMG_SYNTHETIC_ROOT', str(world))  # as main() sets it for the configs
    tool, args = _args(load_tool, world, tmp_path)
    files = tool.split_records(args)
    truth = _names(world / 'umg' / 'train.jsonl')
    assert _names(files['subset']) == truth[:4]
    assert sorted(_names(files['pseudo'])) == sorted(truth[4:])  # the subset's pseudo dropped
    pseudo = json.loads(Path(files['pseudo']).read_text().splitlines()[0])
    assert pseudo['extra']['provenance']  # engine records, not the truth
    stuff = (world / 'vocabularies' / 'stuff.txt').read_text().split()
    reduced = [json.loads(line) for line in Path(files['pseudo_stuff']).read_text().splitlines()]
    assert 0 < len(reduced) <= 8 and set(_names(files['pseudo_stuff'])) <= set(truth[4:])
    for record in reduced:
        assert 'regions' not in record and 'captions' not in record
        assert {s['tags'][0] for s in record.get('segments', [])} <= set(stuff)
        assert set(record.get('tags', [])) <= set(stuff)

    from umg_mm.registry import DATASETS
    sizes = {}
    for arm in tool.ARMS:
        cfg = tool.engine_arm_config(args, arm, files)
        assert cfg.train_cfg.max_iters == 3 and cfg.train_dataloader.batch_size == 32
        assert all(cfg.model[f'{k}_loss'] is not None
                   for k in ('image_text', 'region_text', 'pixel_text'))
        assert cfg.work_dir == str(tmp_path / arm.replace('+', '_'))
        sizes[arm] = len(DATASETS.build(cfg.train_dataloader.dataset))
    assert sizes == {'subset': 4, 'subset+pseudo': 12, 'subset+pseudo_stuff': 4 + len(reduced),
                     'all': 12}


def test_bad_arguments_are_named(load_tool, world, tmp_path):
    tool, args = _args(load_tool, world, tmp_path, '--labelled', '12')
    with pytest.raises(ValueError, match='--labelled 12: give 1 to 11'):
        tool.split_records(args)
    with pytest.raises(SystemExit):
        tool.parse_args(['--data-root', str(world), '--arms', 'subset+pseudo'])  # no --pseudo
    only_subset = tmp_path / 'subset_only.jsonl'
    only_subset.write_text(''.join(
        (world / 'engine' / 'annotations.jsonl').read_text().splitlines(True)[:4]))
    args.labelled, args.pseudo = 4, str(only_subset)
    with pytest.raises(ValueError, match='no pseudo-record of an image outside'):
        tool.split_records(args)
    broken = tmp_path / 'broken.jsonl'
    broken.write_text(only_subset.read_text() + '{"image": {"height": 64}}\n')
    args.pseudo = str(broken)
    with pytest.raises(ValueError, match=r'broken.jsonl \(line 5\): no image.file_name'):
        tool.split_records(args)


def test_arms_in_two_processes_make_one_table(world, tmp_path):
    common = [sys.executable, 'tools/run_engine_ablation.py', '--data-root', str(world),
              '--pseudo', str(world / 'engine' / 'annotations.jsonl'), '--labelled', '4',
              '--iters', '1', '--batch-size', '2', '--work-dir', str(tmp_path)]
    _run(common + ['--arms', 'all'], world)
    log = _run(common + ['--arms', 'subset', 'subset+pseudo'], world)
    table = [line for line in log.splitlines() if line.startswith('| ')]
    assert table[0].startswith('| arm | cls top-1 |') and len(table) == 5
    assert [row.split(' |')[0] for row in table[2:]] == \
        ['| subset', '| subset+pseudo', '| all']
    saved = json.loads((tmp_path / 'engine_ablation.json').read_text())
    assert saved['labelled'] == 4 and set(saved['results']) == {'subset', 'subset+pseudo', 'all'}
    assert 'dense/mIoU_held_out' in saved['results']['subset+pseudo']
    assert (tmp_path / 'engine_ablation.md').read_text().count('\n| ') == 5
