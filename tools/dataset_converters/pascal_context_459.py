"""PASCAL-Context full (459 classes) -> mmseg label maps + vocabulary, see
docs/dataset_converters.md.

Example::

    python tools/dataset_converters/pascal_context_459.py data/trainval.tar.gz \
        data/labels.txt data/VOCdevkit/VOC2010/pc459 \
        --split-file data/VOCdevkit/VOC2010/ImageSets/Segmentation/val.txt
"""
import argparse

from umg_mm.datasets.converters.pascal_context_full import convert_pascal_context_full


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('trainval', help='trainval.tar.gz or the folder extracted from it')
    parser.add_argument('labels', help='labels.txt of the full release')
    parser.add_argument('out_dir')
    parser.add_argument('--split-file', help='image ids to convert, one per line')
    args = parser.parse_args(argv)
    result = convert_pascal_context_full(args.trainval, args.labels, args.out_dir,
                                         args.split_file)
    print(f'{result["images"]} label maps, {result["num_classes"]} classes '
          f'({result["vocabulary"]})')


if __name__ == '__main__':
    main()
