"""tools/tune_on_dev.py: the dev split only (a world whose val files are deleted; opening one
is refused), a clear error on a world without a dev split, and the record it writes."""
import json
import os
import os.path as osp
import re
import shutil
from dataclasses import fields
from pathlib import Path

import pytest
from mmengine.config import Config

from umg_mm.datasets.synthetic import SyntheticWorldConfig, generate_synthetic_world

ROOT = Path(__file__).resolve().parents[2]
SEMANTIC = str(ROOT / 'configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py')
PANOPTIC = str(ROOT / 'configs/umg/'
               'umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py')
PRETRAIN = str(ROOT / 'configs/umg/umg-clip_vit-tiny_1xb32-2400it_synthetic-64x64.py')
VAL_STEM = re.compile(r'\bval_(?=\d{6})')


def tiny_world(root: str, num_val: int, **options) -> str:
    """A world of ``num_val`` val (and dev, where the generator writes one) images."""
    names = {f.name for f in fields(SyntheticWorldConfig)}
    extra = {'num_dev': num_val} if 'num_dev' in names else {}
    generate_synthetic_world(root, SyntheticWorldConfig(num_train=2, num_val=num_val,
                                                        image_size=64, **extra, **options))
    return root


def split_files(world: str, part: re.Pattern) -> list:
    """Paths (relative to ``world``) of the files of one split."""
    return sorted(osp.relpath(osp.join(d, f), world) for d, _, files in os.walk(world)
                  for f in files if part.search('/' + osp.relpath(osp.join(d, f), world)))


def add_dev_split(world: str, part: re.Pattern) -> None:
    """A dev split written like val, from val's files renamed (for a world made before the
    generator wrote one)."""
    for rel in split_files(world, part):
        if rel.endswith('.tar'):
            continue
        out = osp.join(world, part.sub('dev', '/' + rel)[1:])
        os.makedirs(osp.dirname(out), exist_ok=True)
        if rel.endswith(('.json', '.jsonl', '.txt')):
            with open(osp.join(world, rel)) as f:
                text = VAL_STEM.sub('dev_', f.read())
            with open(out, 'w') as f:
                f.write(text)
        else:
            shutil.copyfile(osp.join(world, rel), out)


def strings(node) -> list:
    """Every string value in a config tree (keys aside)."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, (list, tuple)):
        return [s for v in node for s in strings(v)]
    return [node] if isinstance(node, str) else []


@pytest.fixture(scope='module')
def tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location('tune_on_dev', ROOT / 'tools/tune_on_dev.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def world(tmp_path_factory, tool):
    """A world with a dev split and no val files at all."""
    root = tiny_world(str(tmp_path_factory.mktemp('tune') / 'world'), 6, seed=3)
    if not osp.isdir(osp.join(root, 'images', 'dev')):
        add_dev_split(root, tool.VAL_PART)
    for rel in split_files(root, tool.VAL_PART):
        os.remove(osp.join(root, rel))
    assert not split_files(root, tool.VAL_PART)
    return root


def test_opening_a_val_file_is_refused_while_tuning(tool, world):
    val_image = osp.join(world, 'images', 'val', 'val_000000.jpg')
    with tool.val_split_guarded(world):
        with pytest.raises(PermissionError, match='val split'):
            open(val_image, 'rb')
        with pytest.raises(PermissionError, match='val split'):
            os.listdir(osp.join(world, 'annotations', 'panoptic_val'))
        with open(osp.join(world, 'images', 'dev', 'dev_000000.jpg'), 'rb'):
            pass
    with pytest.raises(FileNotFoundError):  # outside the block: an ordinary missing file
        open(val_image, 'rb')


@pytest.mark.parametrize('config', [SEMANTIC, PANOPTIC, PRETRAIN])
def test_the_test_set_and_metrics_read_dev(tool, world, config, monkeypatch, tmp_path):
    monkeypatch.setenv('UMG_SYNTHETIC_ROOT', world)
    cfg = tool.dev_test_config(Config.fromfile(config), world, str(tmp_path))
    assert all(cfg[key] is None for key in tool.NOT_TESTED)
    values = [v.replace(world, 'WORLD') for v in strings(cfg.to_dict())]
    assert not [v for v in values if tool.VAL_PART.search(v)]
    assert any('dev' in v for v in strings(cfg.test_dataloader.to_dict()))


def test_a_world_without_dev_split_is_refused(tool, tmp_path):
    root = tiny_world(str(tmp_path / 'old_world'), 1)
    shutil.rmtree(osp.join(root, 'images', 'dev'), ignore_errors=True)
    with pytest.raises(FileNotFoundError, match='has no dev split'):
        tool.main(['--data-root', root, '--model', SEMANTIC, 'unused.pth'])


def test_tuning_writes_the_dev_record(tool, world, random_checkpoint, monkeypatch, tmp_path):
    monkeypatch.setenv('UMG_SYNTHETIC_ROOT', world)
    checkpoint = random_checkpoint(SEMANTIC, str(tmp_path / 'semantic.pth'))
    written = tool.main(['--data-root', world, '--model', SEMANTIC, checkpoint,
                         '--choices', 'coverage_thr', '--out-dir', str(tmp_path / 'records'),
                         '--work-dir', str(tmp_path / 'work'), '--note', 'a test'])
    assert [osp.basename(p) for p in written] == [
        'umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.json']
    with open(written[0]) as f:
        record = json.load(f)
    assert record['split'] == 'dev' and record['note'] == 'a test'
    with open(osp.join(world, 'meta.json')) as f:
        held_out = json.load(f)['held_out']
    assert record['world'] == dict(path=world, seed=3, held_out=held_out, num_dev_images=6)
    choice = record['choices']['coverage_thr']
    assert choice['candidates'] == tool.TUNABLES['coverage_thr'].candidates
    assert len(choice['scores']) == len(choice['candidates'])
    assert all(0 <= s <= 100 for s in choice['scores'])
    assert choice['config_value'] == Config.fromfile(SEMANTIC).tuning['values']['coverage_thr']
    assert choice['chosen'] == tool.choose(choice['candidates'], choice['scores'],
                                           choice['config_value'])
    assert record['values'] == {'coverage_thr': choice['chosen']}
    assert record['metric'] == ['mIoU']
    assert '--choices coverage_thr' in record['command']


def test_choose_prefers_the_config_value_on_a_tie(tool):
    assert tool.choose([None, 0.1, 0.5], [3., 7., 7.], 0.5) == 0.5
    assert tool.choose([None, 0.1, 0.5], [3., 7., 7.], None) == 0.1
    assert tool.choose([None, 0.1, 0.5], [9., 7., 7.], 0.5) is None


def test_a_fallback_tuned_off_is_tried_again(tool):
    cfg = Config.fromfile(SEMANTIC)
    settings = cfg.model.fallback.to_dict()
    coverage = tool.TUNABLES['coverage_thr']
    coverage.set(cfg, None)
    assert cfg.model.fallback is None and coverage.get(cfg) is None
    coverage.set(cfg, 0.3)
    assert cfg.model.fallback == dict(settings, coverage_thr=0.3)
    cfg.fallback = None
    coverage.set(cfg, None)
    with pytest.raises(KeyError, match='cannot be tried'):
        coverage.set(cfg, 0.3)


@pytest.mark.parametrize('config, choice, metric', [
    (PANOPTIC, 'ensemble_beta', ['coco_panoptic/PQ']),
    (PRETRAIN, 'templates', ['zero_shot_cls/top1', 'region/top1', 'dense/mIoU']),
])
def test_panoptic_and_zero_shot_tuning_read_only_dev(tool, world, random_checkpoint, monkeypatch,
                                                      tmp_path, config, choice, metric):
    monkeypatch.setenv('UMG_SYNTHETIC_ROOT', world)
    checkpoint = random_checkpoint(config, str(tmp_path / 'model.pth'))
    [path] = tool.main(['--data-root', world, '--model', config, checkpoint, '--choices', choice,
                        '--out-dir', str(tmp_path), '--work-dir', str(tmp_path / 'work')])
    with open(path) as f:
        record = json.load(f)
    assert record['split'] == 'dev' and record['metric'] == metric
    assert len(record['choices'][choice]['scores']) == len(tool.TUNABLES[choice].candidates)
