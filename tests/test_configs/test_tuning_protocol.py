"""No test-time choice of a shipped synthetic config comes from the val split.

Every such choice is listed in ``TUNED``; its config declares ``tuning=dict(split='dev', ...)``,
the model or pipeline field reads the value from there, and the record ``tools/tune_on_dev.py``
wrote (``docs/tuning/``) holds the dev scores the value was chosen by. Editing a threshold by hand
(in the field, or in ``tuning.values`` without re-running the script) fails here.
"""
import glob
import importlib.util
import json
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
SEMANTIC = 'configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py'
PANOPTIC = 'configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py'
PRETRAIN = 'configs/umg/umg-clip_vit-tiny_1xb32-2400it_synthetic-64x64.py'
#: each shipped synthetic config with test-time choices, and those choices
TUNED = {
    SEMANTIC: {'coverage_thr', 'test_scale', 'ensemble_alpha', 'ensemble_beta',
               'ensemble_logit_scale'},
    PANOPTIC: {'min_area', 'ensemble_alpha', 'ensemble_beta'},
    PRETRAIN: {'templates'},
}


def _load_tool():
    spec = importlib.util.spec_from_file_location('tune_on_dev', ROOT / 'tools/tune_on_dev.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tune = _load_tool()


def config(path: str) -> Config:
    return Config.fromfile(str(ROOT / path))


def record_of(cfg: Config) -> dict:
    with open(ROOT / cfg.tuning['record']) as f:
        return json.load(f)


def tuning_problems(cfg: Config, record: dict) -> list:
    """What makes the config's tuned values not the dev-split record's choices."""
    tuning = cfg.get('tuning') or {}
    values = tuning.get('values') or {}
    problems = [f'{name} split is {split!r}, not dev' for name, split in (
        ('tuning', tuning.get('split')), ('record', record.get('split'))) if split != 'dev']
    for key, value in values.items():
        field = tune.TUNABLES[key].get(cfg)
        if field != value:
            problems.append(f'{key}: the field holds {field!r}, tuning.values {value!r}')
        choice = record.get('choices', {}).get(key)
        if choice is None:
            problems.append(f'{key}: not in the record')
            continue
        scores = choice['scores']
        if len(scores) != len(choice['candidates']) or not all(
                isinstance(s, (int, float)) for s in scores):
            problems.append(f'{key}: the record has no dev score for every candidate')
        elif choice['chosen'] != tune.choose(choice['candidates'], scores,
                                             choice['config_value']):
            problems.append(f'{key}: the record\'s choice {choice["chosen"]!r} is not the best '
                            f'dev score')
        if choice['chosen'] != value or record['values'].get(key) != value:
            problems.append(f'{key}: the config says {value!r}, the record chose '
                            f'{choice["chosen"]!r}')
    return problems


def has_test_time_choice(cfg: Config) -> bool:
    """An open-vocabulary post-processing step or zero-shot templates set at test time."""
    model = cfg.get('model') or {}
    return any(model.get(k) is not None for k in ('fallback', 'ensemble')) or \
        (model.get('test_cfg') or {}).get('templates') is not None


def test_every_synthetic_config_with_a_test_time_choice_is_listed():
    paths = sorted(str(Path(p).relative_to(ROOT))
                   for p in glob.glob(str(ROOT / 'configs/umg/*synthetic*.py')))
    assert set(TUNED) <= set(paths)
    unlisted = [p for p in paths if p not in TUNED and has_test_time_choice(config(p))]
    assert not unlisted, f'{unlisted} make test-time choices: add tuning=dict(...) and a record'


@pytest.mark.parametrize('path', sorted(TUNED))
def test_config_values_are_the_dev_records_choices(path):
    cfg = config(path)
    assert cfg.tuning.split == 'dev'
    assert set(cfg.tuning['values']) == TUNED[path]
    record = record_of(cfg)
    assert record['split'] == 'dev'
    assert record['config'] == path
    assert isinstance(record['world']['seed'], int) and record['world']['held_out']
    assert record['world']['num_dev_images'] > 0
    assert 'tools/tune_on_dev.py' in record['command']
    assert tuning_problems(cfg, record) == []


def test_a_hand_edited_threshold_fails():
    cfg = config(SEMANTIC)
    record = record_of(cfg)
    other = next(c for c in tune.TUNABLES['test_scale'].candidates
                 if c != cfg.tuning['values']['test_scale'])

    in_field = config(SEMANTIC)  # the pipeline's field edited, tuning.values left
    tune.TUNABLES['test_scale'].set(in_field, other)
    assert any('the field holds' in p for p in tuning_problems(in_field, record))
    if cfg.model.fallback is not None:
        in_field = config(SEMANTIC)
        in_field.model.fallback.coverage_thr += 0.05
        assert any('coverage_thr: the field holds' in p
                   for p in tuning_problems(in_field, record))

    both = config(SEMANTIC)  # field and tuning.values edited together, no new record
    tune.TUNABLES['test_scale'].set(both, other)
    both.tuning['values']['test_scale'] = other
    assert any('the record chose' in p for p in tuning_problems(both, record))

    forged = json.loads(json.dumps(record))  # the record's choice edited by hand
    choice = forged['choices']['ensemble_alpha']
    worst = min(range(len(choice['scores'])), key=choice['scores'].__getitem__)
    if choice['scores'][worst] < max(choice['scores']):
        choice['chosen'] = forged['values']['ensemble_alpha'] = choice['candidates'][worst]
        assert any('not the best' in p for p in tuning_problems(cfg, forged))

    cfg.tuning['split'] = 'val'
    assert any('not dev' in p for p in tuning_problems(cfg, record))
