"""The multi-granularity ablation: pretrain the same tiny model four ways, one table of zero-shot
metrics, seen and held-out categories apart.

    python tools/make_synthetic_data.py data/synthetic
    python tools/run_ablation.py --data-root data/synthetic --iters 600

Arms (same model, initialisation, data order, batch size and number of iterations):
``image`` (image-text only), ``image+region``, ``image+pixel``, ``all`` (image, region and
pixel-text). After training, each arm is evaluated by the config's test evaluators (zero-shot
classification, retrieval, region recognition, training-free dense mIoU) on the validation split.
The table is printed, and written to ``<work-dir>/ablation.md`` with the raw metrics in
``<work-dir>/ablation.json``.
"""
import argparse
import json
import math
import os
import os.path as osp

ARMS = {
    'image': ('image_text', ),
    'image+region': ('image_text', 'region_text'),
    'image+pixel': ('image_text', 'pixel_text'),
    'all': ('image_text', 'region_text', 'pixel_text'),
}
COLUMNS = [  # (header, metric key without the _seen/_held_out suffix)
    ('cls top-1', 'zero_shot_cls/top1'),
    ('cls top-5', 'zero_shot_cls/top5'),
    ('i2t R@1', 'retrieval/i2t_R@1'),
    ('t2i R@1', 'retrieval/t2i_R@1'),
    ('region top-1', 'region/top1'),
    ('region mAcc', 'region/mean_acc'),
    ('dense mIoU', 'dense/mIoU'),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config',
                        default='configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py',
                        help='pretraining config with all three losses configured')
    parser.add_argument('--data-root', default='data/synthetic', help='the synthetic world')
    parser.add_argument('--iters', type=int, default=600, help='training iterations per arm')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="images per iteration (default: the config's)")
    parser.add_argument('--arms', nargs='+', default=list(ARMS), choices=list(ARMS))
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def arm_config(args, arm: str):
    """The config of one arm: the losses of the other levels removed, the same budget."""
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    for level in ('image_text', 'region_text', 'pixel_text', 'pixel_dense'):
        if level not in ARMS[arm]:
            cfg.model[f'{level}_loss'] = None
    warmup = max(1, min(50, args.iters // 10))
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup),
        dict(type='CosineAnnealingLR', T_max=max(1, args.iters - warmup), eta_min=1e-5,
             by_epoch=False, begin=warmup, end=max(args.iters, warmup + 1)),
    ]
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters,
                         val_interval=args.iters + 1)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    if args.batch_size is not None:
        cfg.train_dataloader.batch_size = args.batch_size
    cfg.default_hooks.checkpoint = dict(type='AtomicCheckpointHook', by_epoch=False,
                                        interval=args.iters, max_keep_ckpts=1)
    cfg.randomness = dict(seed=args.seed)
    cfg.work_dir = osp.join(args.work_dir, arm.replace('+', '_'))
    cfg.launcher = 'none'
    return cfg


def cell(metrics: dict, key: str) -> str:
    def fmt(value):
        return '–' if value is None or math.isnan(value) else f'{value:.1f}'
    return (f'{fmt(metrics.get(key))} ({fmt(metrics.get(key + "_seen"))} / '
            f'{fmt(metrics.get(key + "_held_out"))})')


def table(results: dict) -> str:
    lines = ['| arm | ' + ' | '.join(h for h, _ in COLUMNS) + ' |',
             '| --- |' + ' --- |' * len(COLUMNS)]
    for arm, metrics in results.items():
        lines.append(f'| {arm} | ' + ' | '.join(cell(metrics, k) for _, k in COLUMNS) + ' |')
    return '\n'.join(lines)


def check_world(data_root: str) -> None:
    """Raise a clear error unless ``data_root`` is a synthetic world."""
    if not osp.isfile(osp.join(data_root, 'vocabularies', 'all.txt')):
        raise FileNotFoundError(
            f'{data_root} is not a synthetic world (no vocabularies/all.txt); make one with '
            f'python tools/make_synthetic_data.py {data_root}')


def main():
    args = parse_args()
    check_world(args.data_root)
    os.environ['UMG_SYNTHETIC_ROOT'] = osp.abspath(args.data_root)
    import umg_mm  # noqa: F401  (registers components)
    from mmengine.runner import Runner

    from umg_mm.utils.atomic_io import write_text_atomic

    results = {}
    for arm in args.arms:
        runner = Runner.from_cfg(arm_config(args, arm))
        runner.train()
        results[arm] = runner.test()
    write_text_atomic(osp.join(args.work_dir, 'ablation.json'),
                      json.dumps(dict(iters=args.iters, results=results), indent=1))
    text = (f'Zero-shot metrics after {args.iters} iterations per arm: all (seen / held-out), %.'
            f'\n\n{table(results)}\n')
    write_text_atomic(osp.join(args.work_dir, 'ablation.md'), text)
    print(text)


if __name__ == '__main__':
    main()
