"""Throughput of a data-engine config: per stage, its real model (random weights, nothing
downloaded) timed on the CPU, its FLOPs per image counted, and the GPU rate those FLOPs imply
(an estimate, not a measurement); the pipeline's images/s per GPU and GPU-hours for a data set.

    python tools/analysis_tools/engine_throughput.py CONFIG [--images 2] [--repeats 3]
        [--image-size 480 640] [--max-regions N] [--gpu H100] [--utilisation 0.3] [--total-images 41000000]
"""
import argparse

import torch
from mmengine.config import Config

from umg_mm.data_engine.throughput import GPU_TFLOPS, measure_engine, throughput_table


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='a data-engine config (its `stages`)')
    parser.add_argument('--images', type=int, default=2, help='images per measured batch')
    parser.add_argument('--repeats', type=int, default=3, help='timed calls (median)')
    parser.add_argument('--image-size', type=int, nargs=2, default=(480, 640),
                        metavar=('H', 'W'), help='the random images (before each test pipeline)')
    parser.add_argument('--max-regions', type=int,
                        help='regions per image passed on (best scored; default: all the '
                        'random detector keeps)')
    parser.add_argument('--gpu', choices=sorted(GPU_TFLOPS), default='H100')
    parser.add_argument('--gpu-tflops', type=float, help='peak dense bf16 TFLOPs (default: '
                        "the --gpu's)")
    parser.add_argument('--utilisation', type=float, default=0.3,
                        help='assumed fraction of peak reached by inference of these models')
    parser.add_argument('--total-images', type=int, default=41_000_000)
    parser.add_argument('--out', help='also write the table to this markdown file')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    rows = measure_engine(cfg['stages'], args.images, tuple(args.image_size), args.repeats,
                         max_regions=args.max_regions)
    table = throughput_table(rows, args.gpu, args.gpu_tflops or GPU_TFLOPS[args.gpu],
                             args.utilisation, args.total_images, torch.get_num_threads())
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')


if __name__ == '__main__':
    main()
