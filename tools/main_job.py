"""The main job on the embedded synthetic world: pretrain, train, evaluate, one table, pictures.

    bash tools/main_job.sh                      # set-up (cached) + this script
    python tools/main_job.py [--data-root data/synthetic] [--work-dir work_dirs/main_job]

Steps, each an ordinary ``tools/`` command with a config, printed before it runs so that any
step can be re-run alone:

1. make the synthetic world (``tools/make_synthetic_data.py``; an existing world is reused);
2. pretrain a tiny UMG-CLIP with image-, region- and pixel-text alignment, then evaluate it
   zero-shot (classification, retrieval, region recognition, training-free dense mIoU);
3. train the open-vocabulary semantic segmentor on the seen classes from that checkpoint and
   test it on all classes (mIoU, seen and held-out);
4. the same for the open-vocabulary panoptic model (PQ, seen and held-out);
5. pictures of predictions on validation images that hold held-out classes: semantic and
   panoptic (ground truth beside prediction, class names on the masks), and the pretrained
   model's training-free dense predictions (``tools/demo.py``) over all classes.

A step whose outputs exist is skipped (``--force`` redoes them); the metrics of each evaluation go
to ``<work-dir>/<step>/metrics.json``, the table to ``<work-dir>/results.md`` and
``results.json``.
"""
import argparse
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

from mmengine.runner import find_latest_checkpoint

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from umg_mm.structures.vocabulary import load_held_out_names  # noqa: E402
from umg_mm.utils.atomic_io import write_json_atomic, write_text_atomic  # noqa: E402

PRETRAIN = 'configs/umg/umg-clip_vit-tiny_1xb32-2400it_synthetic-64x64.py'
SEMSEG = 'configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py'
PANOPTIC = 'configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py'

# (row, metrics file, metric key); every metric also reports <key>_seen and <key>_held_out
ROWS = [
    ('zero-shot classification top-1', 'pretrain', 'zero_shot_cls/top1'),
    ('zero-shot classification top-5', 'pretrain', 'zero_shot_cls/top5'),
    ('retrieval image->text R@1', 'pretrain', 'retrieval/i2t_R@1'),
    ('retrieval text->image R@1', 'pretrain', 'retrieval/t2i_R@1'),
    ('region recognition top-1', 'pretrain', 'region/top1'),
    ('region recognition mean acc.', 'pretrain', 'region/mean_acc'),
    ('dense zero-shot mIoU (training-free)', 'pretrain', 'dense/mIoU'),
    ('semantic segmentation mIoU', 'semseg', 'mIoU'),
    ('panoptic PQ', 'panoptic', 'coco_panoptic/PQ'),
]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-root', default='data/synthetic', help='the synthetic world')
    parser.add_argument('--work-dir', default='work_dirs/main_job')
    parser.add_argument('--world-args', default='',
                        help='extra arguments of tools/make_synthetic_data.py for a new world, '
                        "e.g. \"--seed 3 --held-out-things circle,ring\"")
    parser.add_argument('--pictures', type=int, default=8,
                        help='validation images with held-out classes to draw')
    parser.add_argument('--max-iters', type=int, default=None,
                        help="train each model this many iterations instead of its config's "
                        '(a quick check of the whole job)')
    parser.add_argument('--force', action='store_true', help='redo steps whose outputs exist')
    parser.add_argument('--dry-run', action='store_true', help='print the commands only')
    return parser.parse_args(argv)


class Job:
    """Runs the steps as subprocesses in the project's root, printing each command first."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.env = dict(os.environ, UMG_SYNTHETIC_ROOT=args.data_root)
        self.env.setdefault('PYTHONUNBUFFERED', '1')
        self.times: Dict[str, float] = {}

    def train(self, step: str, config: str, work_dir: str, options: Sequence[str] = ()) -> None:
        """``tools/train.py config`` into ``work_dir`` unless it holds a checkpoint already."""
        if self.args.max_iters is not None:
            options = [f'train_cfg.max_iters={self.args.max_iters}'] + list(options)
        options = ['--cfg-options'] + list(options) if options else []
        self.run(step, ['tools/train.py', config, '--work-dir', work_dir] + options,
                 outputs=[f'{work_dir}/last_checkpoint'])

    def test(self, step: str, config: str, checkpoint: str, work_dir: str) -> None:
        """``tools/test.py`` writing the metrics to ``work_dir/metrics.json``."""
        self.run(step, ['tools/test.py', config, checkpoint, '--work-dir', work_dir,
                        '--metrics-out', f'{work_dir}/metrics.json'],
                 outputs=[f'{work_dir}/metrics.json'])

    def run(self, step: str, argv: List[str], outputs: Sequence[str] = ()) -> None:
        """Run ``python argv...`` unless every path in ``outputs`` exists (and not --force)."""
        shown = ' '.join(shlex.quote(a) for a in ['python'] + argv)
        if self.args.data_root != 'data/synthetic' and argv[0] != 'tools/make_synthetic_data.py':
            shown = f'UMG_SYNTHETIC_ROOT={shlex.quote(self.args.data_root)} {shown}'
        done = outputs and all(osp.exists(osp.join(ROOT, p)) for p in outputs)
        if done and not self.args.force:
            print(f'\n==> [{step}] done already ({", ".join(outputs)}), skipped:\n    {shown}',
                  flush=True)
            return
        print(f'\n==> [{step}]\n    {shown}\n', flush=True)
        if self.args.dry_run:
            return
        start = time.time()
        result = subprocess.run([sys.executable] + argv, cwd=ROOT, env=self.env)
        self.times[step] = time.time() - start
        if result.returncode:
            raise SystemExit(f'main job: step [{step}] failed (exit {result.returncode}); its '
                             f'command is above. Fix it, then re-run: finished steps are skipped.')


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


def results_table(work_dir: str) -> (str, dict):
    """The Markdown table of every metric (all / seen / held-out) and the raw values."""
    metrics = {}
    for source in ('pretrain', 'semseg', 'panoptic'):
        path = osp.join(ROOT, work_dir, source, 'metrics.json')
        if osp.isfile(path):
            with open(path) as f:
                metrics[source] = json.load(f)
        else:
            metrics[source] = {}

    def cell(source, key):
        value = metrics[source].get(key)
        return '-' if value is None else f'{value:.1f}'

    lines = ['| metric (%) | all classes | seen | held-out |', '| --- | --- | --- | --- |']
    values = {}
    for row, source, key in ROWS:
        keys = (key, f'{key}_seen', f'{key}_held_out')
        lines.append(f'| {row} | ' + ' | '.join(cell(source, k) for k in keys) + ' |')
        values[row] = {split: metrics[source].get(k)
                       for split, k in zip(('all', 'seen', 'held_out'), keys)}
    return '\n'.join(lines) + '\n', values


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    job, wd, data = Job(args), args.work_dir, args.data_root
    start = time.time()

    world = ['tools/make_synthetic_data.py', data] + shlex.split(args.world_args)
    job.run('world', world, outputs=[osp.join(data, 'meta.json')])

    pre, sem, pan = f'{wd}/pretrain', f'{wd}/semseg', f'{wd}/panoptic'
    job.train('pretrain: train', PRETRAIN, pre)
    ckpt = 'PRETRAINED.pth' if args.dry_run else _checkpoint(pre)
    job.test('pretrain: zero-shot test', PRETRAIN, ckpt, pre)

    job.train('semantic: train', SEMSEG, sem, [f'load_from={ckpt}'])
    sem_ckpt = 'SEMSEG.pth' if args.dry_run else _checkpoint(sem)
    job.test('semantic: test', SEMSEG, sem_ckpt, sem)

    job.train('panoptic: train', PANOPTIC, pan,
              [f'model.clip.checkpoint={ckpt}'])
    pan_ckpt = 'PANOPTIC.pth' if args.dry_run else _checkpoint(pan)
    job.test('panoptic: test', PANOPTIC, pan_ckpt, pan)

    if args.pictures > 0:
        indices = [0] if args.dry_run else held_out_images(osp.join(ROOT, data), args.pictures)
        subset = 'test_dataloader.dataset.indices=[' + ','.join(map(str, indices)) + ']'
        for name, config, model_ckpt, folder in (('semantic', SEMSEG, sem_ckpt, sem),
                                                 ('panoptic', PANOPTIC, pan_ckpt, pan)):
            pictures = f'{wd}/pictures/{name}'
            job.run(f'{name}: pictures', [
                'tools/test.py', config, model_ckpt, '--work-dir', f'{folder}/pictures',
                '--show-dir', osp.abspath(osp.join(ROOT, pictures)), '--cfg-options', subset],
                outputs=[pictures])
        images = f'{wd}/held_out_images'
        if not args.dry_run:
            link_images(osp.join(ROOT, data), indices, osp.join(ROOT, images))
        job.run('pretrained UMG-CLIP, training-free: pictures', [
            'tools/demo.py', images, '--config', PRETRAIN, '--checkpoint', ckpt,
            '--task', 'semantic', '--vocab', f'{data}/vocabularies/all.txt',
            '--out-dir', f'{wd}/pictures/dense_zero_shot'],
            outputs=[f'{wd}/pictures/dense_zero_shot'])
    if args.dry_run:
        return

    table, values = results_table(wd)
    minutes = (time.time() - start) / 60
    held_out = ', '.join(load_held_out_names(osp.join(ROOT, data, 'vocabularies', 'held_out.txt')))
    header = f'Main job on {data} (held out: {held_out or "nothing"}), {minutes:.1f} min\n\n'
    write_text_atomic(osp.join(ROOT, wd, 'results.md'), header + table)
    write_json_atomic(osp.join(ROOT, wd, 'results.json'),
                      dict(metrics=values, step_seconds=job.times, minutes=minutes), indent=1)
    print('\n' + header + table)
    print(f'pictures of held-out classes: {wd}/pictures/{{semantic,panoptic,dense_zero_shot}}/ ; '
          f'table: {wd}/results.md')


def _checkpoint(work_dir: str) -> str:
    """The checkpoint mmengine's CheckpointHook recorded last in ``work_dir``."""
    path = find_latest_checkpoint(osp.join(ROOT, work_dir))
    if path is None:
        raise FileNotFoundError(f'{work_dir} has no last_checkpoint: its training step did not '
                                f'finish; re-run with --force')
    return osp.relpath(path, ROOT) if osp.isabs(path) else path


if __name__ == '__main__':
    main()
