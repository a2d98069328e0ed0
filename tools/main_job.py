"""The main job on the embedded synthetic worlds: pretrain, train, evaluate, tables, pictures.

    bash tools/main_job.sh                      # set-up (cached) + this script, world seed 0
    python tools/main_job.py --seeds 0 1 2 [--work-dir work_dirs/main_job]
    python tools/main_job.py --data-root /tmp/w --world-args "--seed 3 --held-out-things circle"

For each world (``--seeds``: the worlds of ``umg_mm/datasets/synthetic/worlds.py``, each holding
out other classes; or one custom world, ``--data-root`` and ``--world-args``), the steps below
run into ``<work-dir>/seed<s>/`` (a custom world: ``<work-dir>/<data-root's name>/``), each an
ordinary ``tools/`` command with a config, printed before it runs so that any step can be re-run
alone:

1. make the synthetic world (``tools/make_synthetic_data.py``; an existing world is reused);
2. pretrain a tiny UMG-CLIP with image-, region- and pixel-text alignment, then evaluate it
   zero-shot (classification, retrieval, region recognition, training-free dense mIoU);
3. train the open-vocabulary semantic segmentor on the seen classes from that checkpoint and
   test it on all classes (mIoU, seen and held-out), with its uncovered-pixel fallback and
   without it (``--cfg-options model.fallback=None``: the head alone);
4. the same for the open-vocabulary panoptic model (PQ, things, stuff, seen and held-out);
5. pictures of predictions on validation images that hold held-out classes: semantic and
   panoptic (ground truth beside prediction, class names on the masks), and the pretrained
   model's training-free dense predictions (``tools/demo.py``) over all classes.

A step whose outputs exist is skipped (``--force`` redoes them). The metrics of each evaluation go
to ``<world dir>/<step>/metrics.json`` (head alone: ``metrics_head.json``), each world's table to
``<world dir>/results.md`` and ``results.json``, and the table over the worlds (mean +- sample
standard deviation, chance levels) to ``<work-dir>/results.md`` and ``results.json``.
"""
import argparse
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.runner import find_latest_checkpoint

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from umg_mm.datasets.synthetic.worlds import seed_world  # noqa: E402
from umg_mm.structures.vocabulary import load_held_out_names  # noqa: E402
from umg_mm.utils.atomic_io import write_json_atomic, write_text_atomic  # noqa: E402
from umg_mm.utils.seed_statistics import format_stats, mean_of, seed_stats  # noqa: E402

PRETRAIN = 'configs/umg/umg-clip_vit-tiny_1xb32-2400it_synthetic-64x64.py'
SEMSEG = 'configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py'
PANOPTIC = 'configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py'
DEFAULT_ROOT = 'data/synthetic'  # the configs' default UMG_SYNTHETIC_ROOT
HEAD_ALONE = ['model.fallback=None']  # a segmentation model tested without its fallback

# metrics file of each source, relative to a world's folder
SOURCES = {
    'pretrain': 'pretrain/metrics.json',
    'semseg': 'semseg/metrics.json',
    'semseg_head': 'semseg/metrics_head.json',
    'panoptic': 'panoptic/metrics.json',
    'panoptic_head': 'panoptic/metrics_head.json',
}
# (row, source, metric key); a key may also have <key>_seen and <key>_held_out
ROWS = [
    ('zero-shot classification top-1', 'pretrain', 'zero_shot_cls/top1'),
    ('zero-shot classification top-5', 'pretrain', 'zero_shot_cls/top5'),
    ('zero-shot multi-label mAP', 'pretrain', 'zero_shot_cls/mAP'),
    ('zero-shot any-present top-1', 'pretrain', 'zero_shot_cls/any_top1'),
    ('retrieval image->text R@1', 'pretrain', 'retrieval/i2t_R@1'),
    ('retrieval text->image R@1', 'pretrain', 'retrieval/t2i_R@1'),
    ('region recognition top-1', 'pretrain', 'region/top1'),
    ('region recognition mean acc.', 'pretrain', 'region/mean_acc'),
    ('dense zero-shot mIoU (training-free)', 'pretrain', 'dense/mIoU'),
    ('semantic mIoU, head alone', 'semseg_head', 'mIoU'),
    ('semantic mIoU, head + fallback', 'semseg', 'mIoU'),
    ('panoptic PQ, head alone', 'panoptic_head', 'coco_panoptic/PQ'),
    ('panoptic PQ, head + fallback', 'panoptic', 'coco_panoptic/PQ'),
    ('panoptic PQ things, head alone', 'panoptic_head', 'coco_panoptic/PQ_th'),
    ('panoptic PQ things, head + fallback', 'panoptic', 'coco_panoptic/PQ_th'),
    ('panoptic PQ stuff, head alone', 'panoptic_head', 'coco_panoptic/PQ_st'),
    ('panoptic PQ stuff, head + fallback', 'panoptic', 'coco_panoptic/PQ_st'),
]
SPLITS = (('all', ''), ('seen', '_seen'), ('held_out', '_held_out'))
HEADER = ('| metric (%) | all classes | seen | held-out | chance (all / seen / held-out) |\n'
          '| --- | --- | --- | --- | --- |\n')


def add_world_args(parser: argparse.ArgumentParser) -> None:
    """``--seeds``, or ``--data-root`` and ``--world-args``: the worlds a command runs on."""
    parser.add_argument('--seeds', type=int, nargs='+', default=None,
                        help='the worlds to run (umg_mm/datasets/synthetic/worlds.py; default 0)')
    parser.add_argument('--data-root', default=None,
                        help='one custom world instead of --seeds (made with --world-args if '
                        'missing)')
    parser.add_argument('--world-args', default='',
                        help='arguments of tools/make_synthetic_data.py for the --data-root '
                        "world, e.g. \"--seed 3 --held-out-things circle,ring\"")


def check_world_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with a usage error for world arguments that do not go together."""
    if args.data_root is not None and args.seeds is not None:
        parser.error('give --seeds (the protocol worlds) or --data-root (one custom world), '
                     'not both')
    if args.world_args and args.data_root is None:
        parser.error('--world-args makes the --data-root world; give --data-root too')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_world_args(parser)
    parser.add_argument('--work-dir', default='work_dirs/main_job')
    parser.add_argument('--pictures', type=int, default=8,
                        help='validation images with held-out classes to draw')
    parser.add_argument('--max-iters', type=int, default=None,
                        help="train each model this many iterations instead of its config's "
                        '(a quick check of the whole job)')
    parser.add_argument('--force', action='store_true', help='redo steps whose outputs exist')
    parser.add_argument('--dry-run', action='store_true', help='print the commands only')
    args = parser.parse_args(argv)
    check_world_args(parser, args)
    return args


def worlds(args: argparse.Namespace) -> List[Tuple[str, str, List[str]]]:
    """``(name, data root, tools/make_synthetic_data.py arguments)`` of each world to run."""
    if args.data_root is not None:
        name = osp.basename(osp.normpath(args.data_root))
        return [(name, args.data_root, shlex.split(args.world_args))]
    return [(f'seed{s}', seed_world(s).data_root, seed_world(s).make_args())
            for s in (args.seeds or [0])]


class Job:
    """Runs the steps of one world as subprocesses in the project's root, printing each command
    first and recording each step's seconds in ``times``.

    Args:
        data_root: the world (``UMG_SYNTHETIC_ROOT`` of every step).
        dry_run: print the commands only.
        force: redo steps whose outputs exist.
        max_iters: train every model this many iterations instead of its config's.
    """

    def __init__(self, data_root: str, dry_run: bool = False, force: bool = False,
                 max_iters: Optional[int] = None):
        self.data_root, self.dry_run, self.force, self.max_iters = \
            data_root, dry_run, force, max_iters
        self.env = dict(os.environ, UMG_SYNTHETIC_ROOT=data_root)
        self.env.setdefault('PYTHONUNBUFFERED', '1')
        self.times: Dict[str, float] = {}

    def make_world(self, world_args: Sequence[str]) -> None:
        """``tools/make_synthetic_data.py`` into the data root unless a world is there."""
        self.run('world', ['tools/make_synthetic_data.py', self.data_root] + list(world_args),
                 outputs=[osp.join(self.data_root, 'meta.json')])

    def train(self, step: str, config: str, work_dir: str, options: Sequence[str] = ()) -> None:
        """``tools/train.py config`` into ``work_dir`` unless it holds a checkpoint already."""
        if self.max_iters is not None:
            options = [f'train_cfg.max_iters={self.max_iters}'] + list(options)
        options = ['--cfg-options'] + list(options) if options else []
        self.run(step, ['tools/train.py', config, '--work-dir', work_dir] + options,
                 outputs=[f'{work_dir}/last_checkpoint'])

    def test(self, step: str, config: str, checkpoint: str, work_dir: str,
             metrics: str = 'metrics.json', options: Sequence[str] = ()) -> None:
        """``tools/test.py`` writing the metrics to ``work_dir/metrics``."""
        options = ['--cfg-options'] + list(options) if options else []
        self.run(step, ['tools/test.py', config, checkpoint, '--work-dir', work_dir,
                        '--metrics-out', f'{work_dir}/{metrics}'] + options,
                 outputs=[f'{work_dir}/{metrics}'])

    def checkpoint(self, work_dir: str) -> str:
        """The checkpoint that ``work_dir``'s training step left (a placeholder in a dry run
        before it exists)."""
        if self.dry_run and not osp.isfile(osp.join(ROOT, work_dir, 'last_checkpoint')):
            return f'{work_dir}/CHECKPOINT.pth'
        return _checkpoint(work_dir)

    def run(self, step: str, argv: List[str], outputs: Sequence[str] = ()) -> None:
        """Run ``python argv...`` unless every path in ``outputs`` exists (and not --force)."""
        shown = ' '.join(shlex.quote(a) for a in ['python'] + argv)
        if self.data_root != DEFAULT_ROOT and argv[0] != 'tools/make_synthetic_data.py':
            shown = f'UMG_SYNTHETIC_ROOT={shlex.quote(self.data_root)} {shown}'
        done = outputs and all(osp.exists(osp.join(ROOT, p)) for p in outputs)
        if done and not self.force:
            print(f'\n==> [{step}] done already ({", ".join(outputs)}), skipped:\n    {shown}',
                  flush=True)
            return
        print(f'\n==> [{step}]\n    {shown}\n', flush=True)
        if self.dry_run:
            return
        start = time.time()
        result = subprocess.run([sys.executable] + argv, cwd=ROOT, env=self.env)
        self.times[step] = time.time() - start
        if result.returncode:
            raise SystemExit(f'step [{step}] failed (exit {result.returncode}); its command is '
                             f'above. Fix it, then re-run: finished steps are skipped.')


def held_out_images(data_root: str, count: int) -> List[int]:
    """Indices (in file-name order) of the val images with the most held-out pixels."""
    held_out = set(load_held_out_names(osp.join(data_root, 'vocabularies', 'held_out.txt')))
    with open(osp.join(data_root, 'annotations', 'panoptic_val.json')) as f:
        panoptic = json.load(f)
    names = {c['id']: c['name'] for c in panoptic['categories']}
    images = sorted(panoptic['annotations'], key=lambda a: a['file_name'])
    area = [sum(s['area'] for s in a['segments_info'] if names[s['category_id']] in held_out)
            for a in images]
    ranked = sorted(range(len(images)), key=lambda i: (-area[i], i))
    return sorted(ranked[:count])


def link_images(data_root: str, indices: Sequence[int], folder: str) -> None:
    """Symbolic links in ``folder`` to the val images of ``indices`` (file-name order)."""
    os.makedirs(folder, exist_ok=True)
    val = osp.join(data_root, 'images', 'val')
    names = sorted(f for f in os.listdir(val) if f.endswith('.jpg'))
    for index in indices:
        link = osp.join(folder, names[index])
        if not osp.lexists(link):
            os.symlink(osp.abspath(osp.join(val, names[index])), link)


def read_metrics(world_dir: str) -> Dict[str, dict]:
    """``{source: metrics}`` of one world's folder (``{}`` for a file not written)."""
    metrics = {}
    for source, rel_path in SOURCES.items():
        path = osp.join(ROOT, world_dir, rel_path)
        metrics[source] = {}
        if osp.isfile(path):
            with open(path) as f:
                metrics[source] = json.load(f)
    return metrics


def row_values(metrics: Dict[str, dict], rows=ROWS) -> Dict[str, Dict[str, Optional[float]]]:
    """``{row: {'all'|'seen'|'held_out': value or None}}`` from ``read_metrics``'s output."""
    return {row: {split: metrics[source].get(key + suffix) for split, suffix in SPLITS}
            for row, source, key in rows}


def chance_of(data_root: str) -> Dict[str, float]:
    """The chance level of each metric key on a world's val split."""
    from umg_mm.evaluation.chance_levels import chance_levels
    return chance_levels(osp.join(ROOT, data_root), split='val')


def row_chance(data_roots: Sequence[str], rows=ROWS) -> Dict[str, Dict[str, Optional[float]]]:
    """``{row: {'all'|'seen'|'held_out': chance level}}`` averaged over the worlds; ``None``
    where no world states one."""
    levels = [chance_of(data_root) for data_root in data_roots]
    return {row: {split: mean_of(level.get(key + suffix) for level in levels)
                  for split, suffix in SPLITS} for row, _, key in rows}


def _number(value: Optional[float]) -> str:
    return '-' if value is None or value != value else f'{value:.1f}'


def _chance(chance: dict, row: str) -> str:
    return ' / '.join(_number(v) for v in chance.get(row, {}).values()) or '-'


def world_table(values: dict, chance: dict) -> str:
    """One world's Markdown table: every row's value for all / seen / held-out classes, chance."""
    lines = [f'| {row} | ' + ' | '.join(_number(v) for v in splits.values()) +
             f' | {_chance(chance, row)} |' for row, splits in values.items()]
    return HEADER + '\n'.join(lines) + '\n'


def mean_values(per_world: Sequence[dict]) -> Dict[str, Dict[str, dict]]:
    """``{row: {split: SeedStats}}`` over the worlds' ``row_values``."""
    rows = list(dict.fromkeys(row for values in per_world for row in values))
    return {row: {split: seed_stats(v.get(row, {}).get(split) for v in per_world)
                  for split, _ in SPLITS} for row in rows}


def mean_rows(stats: Dict[str, Dict[str, tuple]], chance: dict, runs: int) -> List[str]:
    """Markdown rows ``| row | all | seen | held-out | chance |`` of ``'mean +- std'`` cells
    over ``runs`` worlds (``mean_values``' output)."""
    return [f'| {row} | ' + ' | '.join(format_stats(s, runs) for s in splits.values()) +
            f' | {_chance(chance, row)} |' for row, splits in stats.items()]


def mean_table(stats: Dict[str, Dict[str, tuple]], chance: dict, runs: int) -> str:
    """The Markdown table of ``mean_rows``."""
    return HEADER + '\n'.join(mean_rows(stats, chance, runs)) + '\n'


def run_world(args: argparse.Namespace, name: str, data: str, world_args: Sequence[str]):
    """Every step of one world into ``<work-dir>/<name>``; its table (``None`` in a dry run)."""
    job, wd = Job(data, args.dry_run, args.force, args.max_iters), osp.join(args.work_dir, name)
    print(f'\n######## world {name}: {data} -> {wd}', flush=True)
    job.make_world(world_args)

    pre, sem, pan = f'{wd}/pretrain', f'{wd}/semseg', f'{wd}/panoptic'
    job.train('pretrain: train', PRETRAIN, pre)
    ckpt = job.checkpoint(pre)
    job.test('pretrain: zero-shot test', PRETRAIN, ckpt, pre)

    job.train('semantic: train', SEMSEG, sem, [f'load_from={ckpt}'])
    sem_ckpt = job.checkpoint(sem)
    job.test('semantic: test', SEMSEG, sem_ckpt, sem)
    job.test('semantic: test, head alone', SEMSEG, sem_ckpt, sem, 'metrics_head.json',
             HEAD_ALONE)

    job.train('panoptic: train', PANOPTIC, pan, [f'model.clip.checkpoint={ckpt}'])
    pan_ckpt = job.checkpoint(pan)
    job.test('panoptic: test', PANOPTIC, pan_ckpt, pan)
    job.test('panoptic: test, head alone', PANOPTIC, pan_ckpt, pan, 'metrics_head.json',
             HEAD_ALONE)

    if args.pictures > 0:
        draw_pictures(job, args.pictures, wd, [('semantic', SEMSEG, sem_ckpt, sem),
                                               ('panoptic', PANOPTIC, pan_ckpt, pan)], ckpt)
    if args.dry_run:
        return None
    return world_results(job, name, data, wd)


def draw_pictures(job: Job, count: int, wd: str, models, ckpt: str) -> None:
    """Pictures of the val images richest in held-out classes: each segmentation model's and
    the pretrained model's training-free dense predictions."""
    data = job.data_root
    indices = [0] if job.dry_run else held_out_images(osp.join(ROOT, data), count)
    subset = 'test_dataloader.dataset.indices=[' + ','.join(map(str, indices)) + ']'
    for name, config, model_ckpt, folder in models:
        pictures = f'{wd}/pictures/{name}'
        job.run(f'{name}: pictures', [
            'tools/test.py', config, model_ckpt, '--work-dir', f'{folder}/pictures',
            '--show-dir', osp.abspath(osp.join(ROOT, pictures)), '--cfg-options', subset],
            outputs=[pictures])
    images = f'{wd}/held_out_images'
    if not job.dry_run:
        link_images(osp.join(ROOT, data), indices, osp.join(ROOT, images))
    job.run('pretrained UMG-CLIP, training-free: pictures', [
        'tools/demo.py', images, '--config', PRETRAIN, '--checkpoint', ckpt,
        '--task', 'semantic', '--vocab', f'{data}/vocabularies/all.txt',
        '--out-dir', f'{wd}/pictures/dense_zero_shot'],
        outputs=[f'{wd}/pictures/dense_zero_shot'])


def world_results(job: Job, name: str, data: str, wd: str) -> dict:
    """Write one world's ``results.md`` / ``results.json`` and return what they hold.

    The seconds of steps skipped in this run are kept from the world's earlier
    ``results.json``, so that ``minutes`` is the time of all its steps over the runs.
    """
    json_path = osp.join(ROOT, wd, 'results.json')
    seconds = {}
    if osp.isfile(json_path):
        with open(json_path) as f:
            seconds = json.load(f).get('step_seconds', {})
    seconds.update(job.times)
    values, chance = row_values(read_metrics(wd)), row_chance([data])
    minutes = sum(seconds.values()) / 60
    held_out = ', '.join(load_held_out_names(osp.join(ROOT, data, 'vocabularies', 'held_out.txt')))
    header = (f'Main job, world {name} ({data}; held out: {held_out or "nothing"}), '
              f'{minutes:.1f} min.\n\n')
    table = world_table(values, chance)
    write_text_atomic(osp.join(ROOT, wd, 'results.md'), header + table)
    results = dict(data_root=data, held_out=held_out, metrics=values, chance=chance,
                   step_seconds=seconds, minutes=minutes)
    write_json_atomic(json_path, results, indent=1)
    print('\n' + header + table)
    return results


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    chosen = worlds(args)
    results = {name: run_world(args, name, data, world_args) for name, data, world_args in chosen}
    if args.dry_run:
        return
    stats = mean_values([r['metrics'] for r in results.values()])
    chance = row_chance([data for _, data, _ in chosen])
    minutes = {name: r['minutes'] for name, r in results.items()}
    listing = '; '.join(f'{name} ({r["data_root"]}, held out: {r["held_out"] or "nothing"}, '
                        f'{r["minutes"]:.1f} min)' for name, r in results.items())
    header = (f'Main job over {len(results)} world(s), n = {len(results)}: mean +- sample '
              f'standard deviation (- for one world), %; {sum(minutes.values()):.1f} min in '
              f'all. Worlds: {listing}. Chance: mean over the worlds.\n\n')
    table = mean_table(stats, chance, len(results))
    write_text_atomic(osp.join(ROOT, args.work_dir, 'results.md'), header + table)
    write_json_atomic(
        osp.join(ROOT, args.work_dir, 'results.json'),
        dict(worlds={name: r['data_root'] for name, r in results.items()}, n=len(results),
             metrics={row: {split: s.as_dict() for split, s in splits.items()}
                      for row, splits in stats.items()},
             chance=chance, minutes=dict(minutes, total=sum(minutes.values()))), indent=1)
    print('\n' + header + table)
    print(f'pictures of held-out classes: {args.work_dir}/<world>/pictures/'
          f'{{semantic,panoptic,dense_zero_shot}}/ ; tables: {args.work_dir}/results.md and '
          f'{args.work_dir}/<world>/results.md')


def _checkpoint(work_dir: str) -> str:
    """The checkpoint mmengine's CheckpointHook recorded last in ``work_dir``."""
    path = find_latest_checkpoint(osp.join(ROOT, work_dir))
    if path is None:
        raise FileNotFoundError(f'{work_dir} has no last_checkpoint: its training step did not '
                                f'finish; re-run with --force')
    return osp.relpath(path, ROOT) if osp.isabs(path) else path


if __name__ == '__main__':
    main()
