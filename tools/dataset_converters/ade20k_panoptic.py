"""ADE20K scene parsing + instance annotations -> COCO panoptic (150 classes), see
docs/dataset_converters.md.

Example::

    python tools/dataset_converters/ade20k_panoptic.py data/ade/ADEChallengeData2016 \
        data/ade/ADEChallengeData2016
"""
import argparse

from umg_mm.datasets.converters.ade20k_panoptic import convert_ade20k_panoptic


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ade_root', help='the ADEChallengeData2016 folder, with '
                        'annotations_instance/, objectInfo150.txt and categoryMapping.txt')
    parser.add_argument('out_dir')
    args = parser.parse_args(argv)
    result = convert_ade20k_panoptic(args.ade_root, args.out_dir)
    print(f'{result["num_things"]} things, {result["num_stuff"]} stuff; images: '
          f'{result["images"]}')


if __name__ == '__main__':
    main()
