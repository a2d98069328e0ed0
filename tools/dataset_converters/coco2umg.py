"""COCO captions + COCO panoptic -> a UMG index (.jsonl), see docs/dataset_converters.md.

Example::

    python tools/dataset_converters/coco2umg.py data/coco/umg_train2017.jsonl \
        --captions data/coco/annotations/captions_train2017.json \
        --panoptic data/coco/annotations/panoptic_train2017.json \
        --panoptic-dir data/coco/annotations/panoptic_train2017
"""
import argparse

from umg_mm.datasets.converters.coco_umg import convert_coco_to_umg


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='output .jsonl')
    parser.add_argument('--captions', help='captions_<split>.json')
    parser.add_argument('--panoptic', help='panoptic_<split>.json')
    parser.add_argument('--panoptic-dir', help='folder of the panoptic PNGs')
    args = parser.parse_args(argv)
    counts = convert_coco_to_umg(args.out, args.captions, args.panoptic, args.panoptic_dir)
    print(f'wrote {args.out}: ' + ', '.join(f'{v} {k}' for k, v in counts.items()))


if __name__ == '__main__':
    main()
