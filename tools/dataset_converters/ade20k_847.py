"""ADE20K full release -> ADE-847 mmseg label maps + vocabulary, see docs/dataset_converters.md.

Example::

    python tools/dataset_converters/ade20k_847.py data/ADE20K_2021_17_01 data/ade847
"""
import argparse

from umg_mm.datasets.converters.ade20k_full import (BENCHMARK_CLASSES, SPLITS,
                                                     convert_ade20k_full)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ade_root', help='the ADE20K_2021_17_01 folder (with index_ade20k.pkl)')
    parser.add_argument('out_dir')
    parser.add_argument('--splits', nargs='+', default=['validation'], choices=SPLITS)
    parser.add_argument('--max-short-side', type=int, default=512,
                        help='shrink images so that the shorter side is at most this (0: keep)')
    args = parser.parse_args(argv)
    result = convert_ade20k_full(args.ade_root, args.out_dir, args.splits, args.max_short_side)
    print(f'{result["num_classes"]} classes ({result["vocabulary"]}); images: '
          f'{result["images"]}')
    if result['num_classes'] != BENCHMARK_CLASSES:
        print(f'note: the benchmark has {BENCHMARK_CLASSES} classes; this release gave '
              f'{result["num_classes"]} (a partial release or another ADE20K version)')


if __name__ == '__main__':
    main()
