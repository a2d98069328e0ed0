"""Benchmark umg_mm against its references, measured in the same run (not a test).

Prints a Markdown table and writes a JSON report of ratios (measured / reference, medians of
``--repeats`` timed calls after ``--warmup`` untimed ones):

* ``backbone``: the backbone's dense forward vs open_clip ``encode_image`` at each of ``--sizes``;
* ``pretrain_step``: a pretraining step with image-, region- and pixel-text losses vs image-text
  only, same batch;
* ``lora``: LoRA vs full tuning: trainable parameters, step time, peak memory;
* ``contrastive_loss``: the region-text loss (128 images x 10 regions x 3 texts per rank) vs
  the image-text loss at 8 simulated ranks: time and peak memory of one rank;
* ``realistic_step``: a pretraining step with 32 regions and 64 segments per image (3 texts
  each) at 8 simulated ranks vs the image-text-only step, the losses' share and peak memory;
* ``seg_vocab``: segmentation inference over 847 vs 150 classes (text cache warm): time and
  peak memory;
* ``pipeline``: data pipeline samples/s, multi-granularity vs mmdet's stock panoptic pipeline;
* ``amp`` (CUDA only): the pretraining step with AMP vs fp32, images/s and peak memory.

Example (random weights, nothing downloaded; see docs/benchmark.md)::

    OMP_NUM_THREADS=2 python tools/benchmark.py --model ViT-B-16 --sizes 224 512 \
        --batch-size 2 --repeats 3 --out bench.json
    python tools/benchmark.py --model tiny --sizes 32 64 --repeats 1 --only backbone pipeline

Exit status 1 when a section failed (the others still run and are reported).
"""
import argparse
import logging
import os
import os.path as osp
import sys

import torch

import umg_mm  # noqa: F401  (registers umg_mm's modules)
from umg_mm.benchmark import SECTIONS, TINY_MODEL, BenchmarkContext, run_benchmark

CONFIGS_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='cpu, cuda or cuda:N (default: cuda when present)')
    parser.add_argument('--model', default='ViT-B-16',
                        help=f'open_clip model name (random weights), or {TINY_MODEL!r} for a '
                        f'quick check')
    parser.add_argument('--sizes', type=int, nargs='+', default=[224, 512],
                        help='backbone input sizes; the smallest is the pretraining resolution, '
                        'the largest the segmentation one')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5, help='timed calls (median reported)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed calls first')
    amp = parser.add_mutually_exclusive_group()
    amp.add_argument('--amp', dest='amp', action='store_true', default=None,
                     help='run the AMP pretraining section (CUDA only; default: on with CUDA)')
    amp.add_argument('--no-amp', dest='amp', action='store_false')
    parser.add_argument('--only', nargs='+', choices=list(SECTIONS), metavar='SECTION',
                        help=f'sections to run (default: all): {", ".join(SECTIONS)}')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s, which follows OMP_NUM_THREADS)')
    parser.add_argument('--out', default='bench.json', help='JSON report (written atomically)')
    args = parser.parse_args(argv)
    cuda = args.device.startswith('cuda')
    if cuda and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: CUDA is not available here; use --device cpu')
    if args.amp and not cuda:
        parser.error(f'--amp needs CUDA (mixed precision is measured on a GPU); this run is on '
                     f'{args.device}. Drop --amp, or run on a CUDA device.')
    if args.amp is None:
        args.amp = cuda
    for name, value, least in (('--batch-size', args.batch_size, 1),
                               ('--repeats', args.repeats, 1), ('--warmup', args.warmup, 0)):
        if value < least:
            parser.error(f'{name} {value}: it must be at least {least}')
    if min(args.sizes) < 16:
        parser.error(f'--sizes {args.sizes}: each size must be at least 16 px')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)  # open_clip warns that weights are random
    if args.threads:
        torch.set_num_threads(args.threads)
    ctx = BenchmarkContext(
        model=args.model, device=args.device, sizes=sorted(set(args.sizes)),
        batch_size=args.batch_size, repeats=args.repeats, warmup=args.warmup, amp=args.amp,
        configs_dir=CONFIGS_DIR, threads=torch.get_num_threads())
    report = run_benchmark(ctx, args.only or list(SECTIONS), args.out)
    if report['failed']:
        print(f'failed sections: {", ".join(report["failed"])}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    sys.exit(main())
