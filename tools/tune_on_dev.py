"""Tune a synthetic config's test-time choices on the world's dev split; never read its val split.

    python tools/tune_on_dev.py --data-root data/synthetic \
        --model configs/umg/umg-clip_vit-tiny_1xb32-2400it_synthetic-64x64.py PRETRAIN.pth \
        --model configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py SEMSEG.pth \
        --model configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py PAN.pth

Each config declares what was tuned and how it is scored, and its fields read the chosen values
from that declaration (one source)::

    tuning = dict(split='dev', record='docs/tuning/<config name>.json', metric='mIoU',
                  values=dict(coverage_thr=0.5, test_scale=64, ...))

Protocol: the config's test loop and test evaluators (mmengine ``Runner``, the config's own
metrics), with every path of the val split rewritten to the dev split and no train or val loop.
The choices of ``values`` are tuned one at a time in their order (coordinate descent, one
pass): each over its candidates (``TUNABLES``), the choices before it at the values chosen for
them, those after it at their config values; the chosen candidate has the best dev score (the mean of ``metric``; on a
tie the config's value, else the first). While the script runs, opening or listing any file of
the world's val split raises ``PermissionError``. The record (``split='dev'``, the world's path,
seed and held-out classes, every candidate's score, the chosen values, the command) goes to
``tuning.record`` (``--out-dir``: another folder); copy its ``values`` into the config's
``tuning.values`` (``tests/test_configs/test_tuning_protocol.py`` checks they agree).
"""
import argparse
import copy
import glob
import json
import os
import os.path as osp
import re
import shlex
import sys
import time
from contextlib import contextmanager
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import umg_mm  # noqa: E402,F401  (registers components)
from mmengine.config import Config  # noqa: E402
from umg_mm.utils.atomic_io import plain_metrics, write_json_atomic  # noqa: E402
from umg_mm.utils.launch import build_runner  # noqa: E402

TUNING_SPLIT = 'dev'
#: a path component of the val split: images/val/, panoptic_val.json, umg/val.jsonl, val-000000.tar
VAL_PART = re.compile(r'(?<=[/_])val(?=[/._-]|$)')
# sections a test-only run must not build (Runner wants each loop's three keys all None)
NOT_TESTED = ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler',
              'val_dataloader', 'val_cfg', 'val_evaluator')


class Tunable(NamedTuple):
    """A test-time choice: where it lives in a config and the candidates tried on dev."""
    field: str
    candidates: list
    get: Callable[[Config], object]
    set: Callable[[Config, object], None]


def _fallback_param(name: str) -> (Callable, Callable):
    """Getter and setter of ``model.fallback.<name>``; ``None``: no fallback (the head alone).

    A config whose fallback is tuned off keeps its settings in a top-level ``fallback`` dict.
    """
    def get(cfg):
        fallback = cfg.model.get('fallback')
        return None if fallback is None else fallback[name]

    def set_(cfg, value):
        settings = cfg.model.get('fallback') or cfg.get('fallback')
        if value is not None and settings is None:
            raise KeyError(f'{cfg.filename}: model.fallback is None and no top-level fallback '
                           f'dict holds its settings, so {name}={value!r} cannot be tried')
        cfg.model.fallback = None if value is None else dict(settings, **{name: value})
    return get, set_


def _model_param(*keys: str) -> (Callable, Callable):
    """Getter and setter of ``model.<keys...>``."""
    def get(cfg):
        node = cfg.model
        for key in keys:
            node = node.get(key)
        return node

    def set_(cfg, value):
        node = cfg.model
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return get, set_


def _test_resizes(cfg: Config) -> List[dict]:
    return [t for t in cfg.test_dataloader.dataset.pipeline if t['type'].endswith('Resize')]


def _get_test_scale(cfg: Config) -> int:
    """The side of the (square) test ``Resize`` scale."""
    scales = {tuple(t['scale']) for t in _test_resizes(cfg)}
    if len(scales) != 1 or len(set(next(iter(scales)))) != 1:
        raise ValueError(f'test_scale: the test pipeline of {cfg.filename} must resize to one '
                         f'square scale, found {sorted(scales)}')
    return next(iter(scales))[0]


def _set_test_scale(cfg: Config, side: int) -> None:
    for transform in _test_resizes(cfg):
        transform['scale'] = (side, side)


#: prompt-template sets tried for zero-shot evaluation
TEMPLATE_SETS = [
    ['{}'],
    ['a {}'],
    ['{}', 'a {}', 'a picture of a {}'],
    ['a photo of a {}.', 'a {} in the scene.', 'a picture of {}.'],
]

TUNABLES: Dict[str, Tunable] = {
    'coverage_thr': Tunable('model.fallback.coverage_thr (None: no fallback)',
                            [None, 0.1, 0.25, 0.5, 0.75, 1.0], *_fallback_param('coverage_thr')),
    'min_area': Tunable('model.fallback.min_area (None: no fallback)',
                        [None, 4, 8, 16, 32, 64], *_fallback_param('min_area')),
    'test_scale': Tunable('scale of the test pipeline Resize (square side, px)',
                          [64, 96, 128], _get_test_scale, _set_test_scale),
    'ensemble_alpha': Tunable('model.ensemble.alpha (CLIP weight, seen classes)',
                              [0., 0.2, 0.4, 0.6, 0.8], *_model_param('ensemble', 'alpha')),
    'ensemble_beta': Tunable('model.ensemble.beta (CLIP weight, held-out classes)',
                             [0.4, 0.6, 0.8, 1.0], *_model_param('ensemble', 'beta')),
    'ensemble_logit_scale': Tunable('model.ensemble.clip_logit_scale',
                                    [50., 100., 200.],
                                    *_model_param('ensemble', 'clip_logit_scale')),
    'templates': Tunable('model.test_cfg.templates (zero-shot prompt templates)',
                         TEMPLATE_SETS, *_model_param('test_cfg', 'templates')),
}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-root', default='data/synthetic',
                        help='the synthetic world (it must have a dev split)')
    parser.add_argument('--model', nargs=2, action='append', required=True,
                        metavar=('CONFIG', 'CHECKPOINT'),
                        help='a config with a tuning dict and its trained checkpoint (repeat)')
    parser.add_argument('--choices', nargs='+', choices=sorted(TUNABLES),
                        help="tune only these of each config's tuning.values (default: all)")
    parser.add_argument('--out-dir', help="write the records here instead of each config's "
                        'tuning.record path')
    parser.add_argument('--work-dir', default='work_dirs/tune_on_dev', help='runner logs')
    parser.add_argument('--batch-size', type=int, help="test batch size (default: the config's)")
    parser.add_argument('--note', help='a remark stored in the records')
    return parser.parse_args(argv)


# --- the dev split only ------------------------------------------------------------------------

_GUARDED_ROOTS: List[str] = []
_HOOKED = False


def _refuse_val(event: str, args: tuple) -> None:
    """Audit hook: refuse to open or list a val-split path inside a guarded world."""
    if not _GUARDED_ROOTS or event not in ('open', 'os.listdir', 'os.scandir'):
        return
    path = args[0] if args else None
    if not isinstance(path, (str, bytes, os.PathLike)):
        return
    path = osp.abspath(os.fsdecode(path))
    for root in _GUARDED_ROOTS:
        if path.startswith(root + os.sep) and VAL_PART.search(path[len(root):]):
            raise PermissionError(f'tune_on_dev: {path} belongs to the val split of world '
                                  f'{root}; tuning reads the {TUNING_SPLIT} split only')


@contextmanager
def val_split_guarded(world: str):
    """Within the block, reading any val-split file of ``world`` raises ``PermissionError``."""
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_refuse_val)
        _HOOKED = True
    root = osp.abspath(world)
    _GUARDED_ROOTS.append(root)
    try:
        yield
    finally:
        _GUARDED_ROOTS.remove(root)


def check_dev_split(world: str) -> dict:
    """The world's ``meta.json``; raise ``FileNotFoundError`` unless it has a dev split."""
    meta_path = osp.join(world, 'meta.json')
    if not osp.isfile(meta_path):
        raise FileNotFoundError(f'{world} is no synthetic world (no meta.json); make one with '
                                f'python tools/make_synthetic_data.py {world}')
    dev = osp.join(world, 'images', TUNING_SPLIT)
    if not osp.isdir(dev) or not glob.glob(osp.join(dev, '*.jpg')):
        raise FileNotFoundError(
            f'world {world} has no {TUNING_SPLIT} split ({dev} missing or empty): tuning on the '
            f'val split would choose values on the figures it reports. Make a world with a '
            f'{TUNING_SPLIT} split: python tools/make_synthetic_data.py NEW_DIR')
    with open(meta_path) as f:
        return json.load(f)


def _to_dev(value, world: str):
    """``value`` with every val-split path component rewritten to the dev split."""
    if isinstance(value, dict):
        return type(value)({k: _to_dev(v, world) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return type(value)(_to_dev(v, world) for v in value)
    if not isinstance(value, str) or '/' not in value:
        return value
    head = world if value.startswith(world + os.sep) else ''
    return head + VAL_PART.sub(TUNING_SPLIT, value[len(head):])


def dev_test_config(cfg: Config, world: str, work_dir: str,
                    batch_size: Optional[int] = None) -> Config:
    """A test-only copy of ``cfg`` whose test data and evaluators read the dev split."""
    world = osp.abspath(world)
    cfg = copy.deepcopy(cfg)
    for key in NOT_TESTED:
        cfg[key] = None
    for key in ('test_dataloader', 'test_evaluator', 'model', 'custom_hooks'):
        if cfg.get(key) is not None:
            cfg[key] = _to_dev(cfg[key], world)
    if batch_size:
        cfg.test_dataloader.batch_size = batch_size
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.experiment_name = f'{osp.basename(work_dir)}_{time.time_ns()}'
    missing = [p for p in _world_paths(cfg.test_dataloader, world) + _world_paths(
        cfg.test_evaluator, world) if not osp.exists(p)]
    if missing:
        raise FileNotFoundError(f'the {TUNING_SPLIT} split of {world} lacks {missing}, which '
                                f'the test set of {cfg.filename} reads')
    return cfg


def _world_paths(value, world: str) -> List[str]:
    """Absolute paths inside ``world`` among the strings of ``value``."""
    if isinstance(value, dict):
        return [p for v in value.values() for p in _world_paths(v, world)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _world_paths(v, world)]
    if isinstance(value, str) and osp.isabs(value) and value.startswith(world + os.sep):
        return [value]
    return []


# --- tuning ------------------------------------------------------------------------------------

def read_tuning(cfg: Config) -> dict:
    """The config's ``tuning`` dict, checked."""
    tuning = cfg.get('tuning')
    if not tuning or not isinstance(tuning.get('values'), dict):
        raise KeyError(f'{cfg.filename} has no tuning=dict(split=..., record=..., metric=..., '
                       f'values=dict(...)): nothing to tune')
    unknown = sorted(set(tuning['values']) - set(TUNABLES))
    if unknown:
        raise KeyError(f'{cfg.filename}: tuning.values {unknown} are unknown; known: '
                       f'{sorted(TUNABLES)}')
    return tuning


def dev_score(metrics: dict, keys: Sequence[str]) -> float:
    """Mean of the metrics ``keys``; ``KeyError`` naming the missing ones."""
    missing = [k for k in keys if metrics.get(k) is None]
    if missing:
        raise KeyError(f'tuning.metric {missing} missing (or NaN) among the metrics '
                       f'{sorted(metrics)}')
    return sum(float(metrics[k]) for k in keys) / len(keys)


def choose(candidates: list, scores: List[float], current) -> object:
    """The best-scoring candidate; on a tie the config's current value, else the first."""
    best = max(scores)
    tied = [c for c, s in zip(candidates, scores) if s == best]
    return current if current in tied else tied[0]


def tune_config(cfg: Config, checkpoint: str, world: str, args: argparse.Namespace) -> dict:
    """Tune the choices of one config on the dev split.

    Returns:
        dict: ``metric`` (the keys averaged into the dev score) and ``choices`` (per choice:
        ``field``, ``config_value``, ``candidates``, ``scores``, ``chosen``).
    """
    tuning = read_tuning(cfg)
    metric = tuning.get('metric')
    metric = [metric] if isinstance(metric, str) else list(metric or [])
    if not metric:
        raise KeyError(f'{cfg.filename}: tuning.metric (the dev score: a metric key or a list) '
                       f'missing')
    keys = [k for k in tuning['values'] if not args.choices or k in args.choices]
    stem = osp.splitext(osp.basename(cfg.filename))[0]
    choices = {}
    for key in keys:
        tunable = TUNABLES[key]
        current = tunable.get(cfg)
        candidates = list(tunable.candidates)
        if current not in candidates:
            candidates.append(current)
        scores = []
        for index, value in enumerate(candidates):
            trial = copy.deepcopy(cfg)
            tunable.set(trial, value)
            trial = dev_test_config(trial, world, osp.join(args.work_dir, stem, f'{key}_{index}'),
                                    args.batch_size)
            trial.load_from = checkpoint
            start = time.time()
            metrics = plain_metrics(build_runner(trial).test())
            scores.append(dev_score(metrics, metric))
            print(f'[{stem}] {key}={value!r}: dev mean({", ".join(metric)}) {scores[-1]:.2f} '
                  f'({time.time() - start:.0f} s)', flush=True)
        chosen = choose(candidates, scores, current)
        choices[key] = dict(field=tunable.field, config_value=current, candidates=candidates,
                            scores=scores, chosen=chosen)
        tunable.set(cfg, chosen)  # the next choices are tried at the values chosen so far
    return dict(choices=choices, metric=metric)


def world_meta(world: str, meta: dict) -> dict:
    """What a record says about the world it was tuned on."""
    return dict(path=osp.abspath(world), seed=meta.get('seed'), held_out=meta.get('held_out'),
                num_dev_images=len(glob.glob(osp.join(world, 'images', TUNING_SPLIT, '*.jpg'))))


def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    """Tune every ``--model``; return the paths of the records written."""
    args = parse_args(argv)
    world = osp.abspath(args.data_root)
    meta = check_dev_split(world)
    os.environ['UMG_SYNTHETIC_ROOT'] = world  # the synthetic configs read it
    command = ' '.join(shlex.quote(a) for a in
                       ['python', 'tools/tune_on_dev.py'] + list(sys.argv[1:] if argv is None
                                                                   else argv))
    written = []
    with val_split_guarded(world):
        for config, checkpoint in args.model:
            cfg = Config.fromfile(config)
            tuning = read_tuning(cfg)
            result = tune_config(cfg, checkpoint, world, args)
            record = dict(
                split=TUNING_SPLIT,
                config=osp.relpath(osp.abspath(config), ROOT),
                checkpoint=checkpoint,
                world=world_meta(world, meta),
                metric=result['metric'],
                protocol='one choice at a time in the order of tuning.values, each over its '
                         'candidates with the earlier choices at their chosen values and the '
                         'later ones at their config values; chosen: the best dev score (tie: the config value, else the '
                         'first); the val split is never read',
                choices=result['choices'],
                values={k: c['chosen'] for k, c in result['choices'].items()},
                command=command)
            if args.note:
                record['note'] = args.note
            path = tuning['record'] if args.out_dir is None else \
                osp.join(args.out_dir, osp.basename(tuning['record']))
            path = path if osp.isabs(path) else osp.join(ROOT, path)
            write_json_atomic(path, record, indent=1)
            written.append(path)
            print(f'{config}: record {path}; set tuning.values = {record["values"]!r}',
                  flush=True)
    return written


if __name__ == '__main__':
    main()
