"""The multi-granularity ablation over several worlds: pretrain the same tiny model in several
arms, evaluate each zero-shot, seen and held-out categories apart; mean +- std over the worlds.

    python tools/run_ablation.py --seeds 0 1 2 [--iters 600] [--arms image all ...]
    python tools/run_ablation.py --seeds 0 1 2 --segmentation    # + semantic / panoptic
    python tools/run_ablation.py --data-root data/world7 --world-args "--seed 7"   # one world

The worlds are the main job's (``--seeds``: ``umg_mm/datasets/synthetic/worlds.py``, each made if
missing; or one custom world, ``--data-root`` and ``--world-args``). Arms (same model,
initialisation, data order and batch size):

- ``image`` (image-text only), ``image+region``, ``image+pixel``, ``all`` (image, region and
  pixel-text), ``all+crop-distill`` (``all`` plus region-to-crop self-distillation), each
  ``--iters`` iterations from random towers;
- ``finetune-scale-ckpt`` and ``finetune-scale-init``: the ``image`` arm's towers fine-tuned with
  all three losses for ``--finetune-iters``, the image-text temperature started from that
  checkpoint's logit scale or from 1/0.07 (``model.logit_scale_from_checkpoint``);
- ``all@tokens``, ``all@value``, ``all@value_block``: the ``all`` arm's checkpoint evaluated with
  each dense read-out (``model.backbone.dense_readout``), no training.

Each arm is an ordinary ``tools/train.py`` / ``tools/test.py`` command (printed before it runs)
on its config, written to ``<work-dir>/<world>/configs/<arm>.py``; its checkpoints and
``metrics.json`` go to ``<work-dir>/<world>/<arm>/``, and an arm whose outputs exist is skipped
(``--force`` redoes it), so a re-run resumes. ``--segmentation`` also trains the main job's
semantic and panoptic recipes from the ``image`` and ``all`` arms' checkpoints and tests them with
their fallback and without it (the head alone). The tables (mean +- sample standard deviation over
the worlds, chance levels, then each world's) go to ``<work-dir>/ablation.md``, the figures to
``<work-dir>/ablation.json``.
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import main_job  # noqa: E402  (the worlds, the step runner, the segmentation recipes)
from main_job import ROOT  # noqa: E402

LEVELS = ('image_text', 'region_text', 'pixel_text')


class Arm(NamedTuple):
    """One arm of the ablation.

    Args:
        label: its row in the tables.
        losses: the alignment levels it trains (the others' losses are removed).
        crop_distill: add the region-to-crop self-distillation loss.
        init: the arm whose checkpoint the towers start from (fine-tuning), else random towers.
        logit_scale_from_checkpoint: with ``init``, start the temperature from that checkpoint.
        evaluate: evaluation only: the arm whose checkpoint and config are tested.
        readout: with ``evaluate``, the backbone's dense read-out at test time.
    """
    label: str
    losses: Tuple[str, ...] = LEVELS
    crop_distill: bool = False
    init: Optional[str] = None
    logit_scale_from_checkpoint: Optional[bool] = None
    evaluate: Optional[str] = None
    readout: Optional[str] = None


ARMS = {
    'image': Arm('image', ('image_text', )),
    'image+region': Arm('image+region', ('image_text', 'region_text')),
    'image+pixel': Arm('image+pixel', ('image_text', 'pixel_text')),
    'all': Arm('all'),
    'all+crop-distill': Arm('all + region-crop distillation', crop_distill=True),
    'finetune-scale-ckpt': Arm('finetune from image (scale from checkpoint)', init='image',
                               logit_scale_from_checkpoint=True),
    'finetune-scale-init': Arm('finetune from image (scale 1/0.07)', init='image',
                               logit_scale_from_checkpoint=False),
    'all@tokens': Arm('all, dense read-out tokens', evaluate='all', readout='tokens'),
    'all@value': Arm('all, dense read-out value', evaluate='all', readout='value'),
    'all@value_block': Arm('all, dense read-out value_block', evaluate='all',
                           readout='value_block'),
}
SEGMENTATION_BACKBONES = ('image', 'all')  # the arms --segmentation trains from
SEGMENTATION_ROWS = [row for row in main_job.ROWS if row[1] != 'pretrain']
COLUMNS = [  # (header, metric key without the _seen/_held_out suffix)
    ('cls top-1', 'zero_shot_cls/top1'),
    ('cls top-5', 'zero_shot_cls/top5'),
    ('cls mAP', 'zero_shot_cls/mAP'),
    ('any top-1', 'zero_shot_cls/any_top1'),
    ('i2t R@1', 'retrieval/i2t_R@1'),
    ('t2i R@1', 'retrieval/t2i_R@1'),
    ('region top-1', 'region/top1'),
    ('region mAcc', 'region/mean_acc'),
    ('dense mIoU', 'dense/mIoU'),
]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    main_job.add_world_args(parser)
    parser.add_argument('--config',
                        default='configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py',
                        help='pretraining config with all three losses configured')
    parser.add_argument('--iters', type=int, default=600, help='training iterations per arm')
    parser.add_argument('--finetune-iters', type=int, default=300,
                        help='iterations of the fine-tuning arms')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="images per iteration (default: the config's)")
    parser.add_argument('--arms', nargs='+', default=list(ARMS), choices=list(ARMS),
                        help='arms to run (the arms they start from or test are added)')
    parser.add_argument('--segmentation', action='store_true',
                        help='also train and test the semantic and panoptic recipes from the '
                        'image and all arms')
    parser.add_argument('--seg-max-iters', type=int, default=None,
                        help="segmentation training iterations instead of the recipes' "
                        '(a quick check)')
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--seed', type=int, default=0, help='training seed (every world)')
    parser.add_argument('--force', action='store_true', help='redo arms whose outputs exist')
    parser.add_argument('--dry-run', action='store_true', help='print the commands only')
    args = parser.parse_args(argv)
    main_job.check_world_args(parser, args)
    return args


def arm_dir(arm: str) -> str:
    """The folder name of an arm (``image+region`` -> ``image_region``)."""
    return arm.replace('+', '_').replace('@', '_readout_')


def needed_arms(arms: Sequence[str], segmentation: bool = False) -> List[str]:
    """``arms`` with the arms they start from or test (and the segmentation backbones), in
    ``ARMS`` order."""
    needed = set(arms) | (set(SEGMENTATION_BACKBONES) if segmentation else set())
    needed |= {ARMS[a].init or ARMS[a].evaluate for a in needed} - {None}
    return [arm for arm in ARMS if arm in needed]


def arm_config(args: argparse.Namespace, arm: str, work_dir: Optional[str] = None,
               init: Optional[str] = None):
    """The config of one training arm, read from ``args.config`` (its world from
    ``UMG_SYNTHETIC_ROOT``): the losses of the other levels removed, the arm's budget.

    Args:
        args: ``config``, ``iters``, ``batch_size``, ``seed``, ``work_dir`` (and
            ``finetune_iters`` for the fine-tuning arms).
        arm: a key of ``ARMS`` with training.
        work_dir: the folder of the world's arms (default ``args.work_dir``).
        init: the checkpoint of ``ARMS[arm].init`` (fine-tuning arms).

    Returns:
        mmengine ``Config`` with ``work_dir`` ``<work_dir>/<arm_dir(arm)>``.
    """
    from mmengine.config import Config
    spec = ARMS[arm]
    if spec.evaluate is not None:
        raise ValueError(f'arm {arm} only tests the {spec.evaluate} arm; it has no training')
    if (spec.init is None) != (init is None):
        raise ValueError(f'arm {arm}: init={init!r}, but it starts from '
                         f'{spec.init or "random towers"}')
    cfg = Config.fromfile(args.config)
    for level in LEVELS + ('pixel_dense', ):
        if level not in spec.losses:
            cfg.model[f'{level}_loss'] = None
    if spec.crop_distill:
        cfg.model.region_crop_distill_loss = dict(type='RegionCropDistillLoss')
    iters = args.iters
    if init is not None:
        cfg.model.clip.checkpoint = init
        cfg.model.logit_scale_from_checkpoint = spec.logit_scale_from_checkpoint
        iters = args.finetune_iters
    warmup = max(1, min(50, iters // 10))
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup),
        dict(type='CosineAnnealingLR', T_max=max(1, iters - warmup), eta_min=1e-5,
             by_epoch=False, begin=warmup, end=max(iters, warmup + 1)),
    ]
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters + 1)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    if args.batch_size is not None:
        cfg.train_dataloader.batch_size = args.batch_size
    cfg.default_hooks.checkpoint = dict(type='AtomicCheckpointHook', by_epoch=False,
                                        interval=iters, max_keep_ckpts=1)
    cfg.randomness = dict(seed=args.seed)
    cfg.work_dir = osp.join(args.work_dir if work_dir is None else work_dir, arm_dir(arm))
    cfg.launcher = 'none'
    return cfg


def readout_options(arm: str) -> List[str]:
    """``--cfg-options`` of an evaluation arm's test: its dense read-out."""
    return [f'model.backbone.dense_readout={ARMS[arm].readout}']


def world_config(args, arm: str, data: str, wd: str, init: Optional[str] = None):
    """``arm_config`` with the configs' world set to ``data`` while it is read."""
    before = os.environ.get('UMG_SYNTHETIC_ROOT')
    os.environ['UMG_SYNTHETIC_ROOT'] = data
    try:
        return arm_config(args, arm, wd, init)
    finally:
        if before is None:
            del os.environ['UMG_SYNTHETIC_ROOT']
        else:
            os.environ['UMG_SYNTHETIC_ROOT'] = before


def run_world(args, name: str, data: str, world_args: Sequence[str], arms: Sequence[str]):
    """Every arm (and segmentation run) of one world; ``{arm: metrics}`` and
    ``{backbone: segmentation metrics}`` (``None`` in a dry run)."""
    from umg_mm.utils.atomic_io import write_text_atomic
    job, wd = main_job.Job(data, args.dry_run, args.force), osp.join(args.work_dir, name)
    print(f'\n######## world {name}: {data} -> {wd}', flush=True)
    job.make_world(world_args)
    checkpoints, configs = {}, {}
    for arm in arms:
        spec = ARMS[arm]
        if spec.evaluate is not None:
            job.test(f'{arm}: test', configs[spec.evaluate], checkpoints[spec.evaluate],
                     osp.join(wd, arm_dir(arm)), options=readout_options(arm))
            continue
        cfg = world_config(args, arm, data, wd, checkpoints.get(spec.init))
        configs[arm] = osp.join(wd, 'configs', arm_dir(arm) + '.py')
        if not args.dry_run:
            write_text_atomic(osp.join(ROOT, configs[arm]), cfg.pretty_text)
        job.train(f'{arm}: train', configs[arm], cfg.work_dir)
        checkpoints[arm] = job.checkpoint(cfg.work_dir)
        job.test(f'{arm}: zero-shot test', configs[arm], checkpoints[arm], cfg.work_dir)
    segmentation = {}
    if args.segmentation:
        for backbone in SEGMENTATION_BACKBONES:
            segmentation[backbone] = run_segmentation(
                job, osp.join(wd, 'segmentation', arm_dir(backbone)), checkpoints[backbone],
                backbone, args.seg_max_iters)
    if args.dry_run:
        return None
    results = {arm: _read_json(osp.join(ROOT, wd, arm_dir(arm), 'metrics.json')) for arm in arms}
    return dict(data_root=data, results=results, segmentation=segmentation, seconds=job.times)


def _read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def run_segmentation(job, seg_dir: str, checkpoint: str, backbone: str,
                     max_iters: Optional[int] = None) -> Optional[dict]:
    """The main job's semantic and panoptic recipes from a backbone arm's checkpoint, each tested
    with its fallback and the head alone; ``{row: {split: value}}`` (``None`` in a dry run)."""
    iters = [] if max_iters is None else [f'train_cfg.max_iters={max_iters}']
    for task, config, init in (('semantic', main_job.SEMSEG, f'load_from={checkpoint}'),
                               ('panoptic', main_job.PANOPTIC,
                                f'model.clip.checkpoint={checkpoint}')):
        folder = osp.join(seg_dir, 'semseg' if task == 'semantic' else 'panoptic')
        step = f'{backbone} backbone, {task}'
        job.train(f'{step}: train', config, folder, iters + [init])
        ckpt = job.checkpoint(folder)
        job.test(f'{step}: test', config, ckpt, folder)
        job.test(f'{step}: test, head alone', config, ckpt, folder, 'metrics_head.json',
                 main_job.HEAD_ALONE)
    if job.dry_run:
        return None
    return main_job.row_values(main_job.read_metrics(seg_dir), SEGMENTATION_ROWS)


def _fmt(value: Optional[float]) -> str:
    return '-' if value is None or math.isnan(value) else f'{value:.1f}'


def cell(metrics: dict, key: str) -> str:
    """``'all (seen / held-out)'`` of one metric."""
    return (f'{_fmt(metrics.get(key))} ({_fmt(metrics.get(key + "_seen"))} / '
            f'{_fmt(metrics.get(key + "_held_out"))})')


def table(results: dict, chance: Optional[dict] = None) -> str:
    """One run's table: a row per arm (``{label: metrics}``), cells ``all (seen / held-out)``;
    a last row of chance levels when ``chance`` (``{metric key: level}``) is given."""
    lines = ['| arm | ' + ' | '.join(h for h, _ in COLUMNS) + ' |',
             '| --- |' + ' --- |' * len(COLUMNS)]
    for arm, metrics in results.items():
        lines.append(f'| {arm} | ' + ' | '.join(cell(metrics, k) for _, k in COLUMNS) + ' |')
    if chance is not None:
        lines.append('| chance | ' + ' | '.join(cell(chance, k) for _, k in COLUMNS) + ' |')
    return '\n'.join(lines)


def mean_tables(per_world: Sequence[Dict[str, dict]], chance: dict) -> Tuple[str, dict]:
    """The ``'mean +- std'`` tables over the worlds (all / seen / held-out classes) and their
    figures ``{arm: {metric key: SeedStats as dict}}``.

    Args:
        per_world: one ``{arm label: metrics}`` per world.
        chance: ``{metric key (with its _seen/_held_out suffix): chance level}``, averaged over
            the worlds.
    """
    from umg_mm.utils.seed_statistics import format_stats, seed_stats, stats_by_key
    arms = list(dict.fromkeys(arm for world in per_world for arm in world))
    stats = {arm: stats_by_key([world.get(arm, {}) for world in per_world]) for arm in arms}
    missing = seed_stats([])
    text = []
    for title, suffix in (('all classes', ''), ('seen classes', '_seen'),
                          ('held-out classes', '_held_out')):
        lines = [f'**{title}**', '', '| arm | ' + ' | '.join(h for h, _ in COLUMNS) + ' |',
                 '| --- |' + ' --- |' * len(COLUMNS)]
        for arm in arms:
            cells = [format_stats(stats[arm].get(k + suffix, missing), len(per_world))
                     for _, k in COLUMNS]
            lines.append(f'| {arm} | ' + ' | '.join(cells) + ' |')
        lines.append('| chance | ' +
                     ' | '.join(_fmt(chance.get(k + suffix)) for _, k in COLUMNS) + ' |')
        text.append('\n'.join(lines))
    figures = {arm: {k: s.as_dict() for k, s in stats[arm].items()} for arm in arms}
    return '\n\n'.join(text), figures


def segmentation_tables(per_world: Sequence[Dict[str, dict]], chance: dict) -> Tuple[str, dict]:
    """The segmentation table over the worlds: a row per (backbone arm, metric), ``'mean +-
    std'`` for all / seen / held-out classes, chance; and its figures."""
    lines = ['| backbone | metric (%) | all classes | seen | held-out | chance (all / seen / '
             'held-out) |',
             '| --- | --- | --- | --- | --- | --- |']
    figures = {}
    for backbone in SEGMENTATION_BACKBONES:
        stats = main_job.mean_values([world[backbone] for world in per_world])
        figures[backbone] = {row: {split: s.as_dict() for split, s in splits.items()}
                             for row, splits in stats.items()}
        lines += [f'| {ARMS[backbone].label} {row}'
                  for row in main_job.mean_rows(stats, chance, len(per_world))]
    return '\n'.join(lines), figures


def main(argv: Optional[Sequence[str]] = None) -> None:
    from umg_mm.utils.atomic_io import write_json_atomic, write_text_atomic
    from umg_mm.utils.seed_statistics import mean_of
    args = parse_args(argv)
    arms = needed_arms(args.arms, args.segmentation)
    chosen = main_job.worlds(args)
    worlds = {name: run_world(args, name, data, world_args, arms)
              for name, data, world_args in chosen}
    if args.dry_run:
        return
    levels = {name: main_job.chance_of(data) for name, data, _ in chosen}
    chance = {k + suffix: mean_of(level.get(k + suffix) for level in levels.values())
              for _, k in COLUMNS for suffix in ('', '_seen', '_held_out')}
    labelled = [{ARMS[arm].label: metrics for arm, metrics in w['results'].items()}
                for w in worlds.values()]
    text, figures = mean_tables(labelled, chance)
    listing = ', '.join(f'{name}: {w["data_root"]}' for name, w in worlds.items())
    intro = (f'Zero-shot metrics, %, after {args.iters} iterations per arm (fine-tuning arms: '
             f'{args.finetune_iters} from the image arm), over {len(worlds)} world(s) '
             f'({listing}): mean +- sample standard deviation, n = {len(worlds)} (- for one '
             f'world).')
    parts = [intro, text]
    seg_figures = None
    if args.segmentation:
        seg_chance = main_job.row_chance([data for _, data, _ in chosen], SEGMENTATION_ROWS)
        seg_text, seg_figures = segmentation_tables(
            [w['segmentation'] for w in worlds.values()], seg_chance)
        parts += ['Semantic and panoptic segmentation from the image and all arms (the main '
                  "job's recipes), head alone and head + fallback:", seg_text]
    for (name, w), results in zip(worlds.items(), labelled):
        parts += [f'World {name} ({w["data_root"]}): all (seen / held-out), %.',
                  table(results, levels[name])]
    text = '\n\n'.join(parts) + '\n'
    write_json_atomic(osp.join(ROOT, args.work_dir, 'ablation.json'), dict(
        iters=args.iters, finetune_iters=args.finetune_iters, n=len(worlds),
        worlds={name: w['data_root'] for name, w in worlds.items()},
        results={name: w['results'] for name, w in worlds.items()},
        segmentation={name: w['segmentation'] for name, w in worlds.items()},
        mean=figures, segmentation_mean=seg_figures, chance=chance,
        minutes={name: sum(w['seconds'].values()) / 60 for name, w in worlds.items()}),
        indent=1)
    write_text_atomic(osp.join(ROOT, args.work_dir, 'ablation.md'), text)
    print(text)


def check_world(data_root: str) -> None:
    """Raise a clear error unless ``data_root`` is a synthetic world."""
    if not osp.isfile(osp.join(data_root, 'vocabularies', 'all.txt')):
        raise FileNotFoundError(
            f'{data_root} is not a synthetic world (no vocabularies/all.txt); make one with '
            f'python tools/make_synthetic_data.py {data_root}')


if __name__ == '__main__':
    main()
