"""COCO instances (things) -> COCO panoptic JSON + PNGs, see docs/custom_data.md.

Example::

    python tools/dataset_converters/coco_instances2panoptic.py \
        data/my_pan/annotations/instances_train.json \
        data/my_pan/annotations/panoptic_train.json data/my_pan/annotations/panoptic_train \
        --stuff-name background
"""
import argparse

from umg_mm.datasets.converters.coco_instances_panoptic import \
    convert_coco_instances_to_panoptic


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('instances', help='COCO instances JSON')
    parser.add_argument('out_json', help='panoptic JSON to write')
    parser.add_argument('png_dir', help='folder for the panoptic PNGs')
    parser.add_argument('--stuff-name', default='background',
                        help='stuff category of the pixels of no instance (default: background)')
    args = parser.parse_args(argv)
    counts = convert_coco_instances_to_panoptic(args.instances, args.out_json, args.png_dir,
                                                args.stuff_name)
    print(f'{counts["images"]} images, {counts["segments"]} thing segments, '
          f'{counts["background"]} with a {args.stuff_name!r} segment; {counts["dropped"]} '
          f'instances dropped (hidden by others or empty)')


if __name__ == '__main__':
    main()
