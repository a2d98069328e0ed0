"""Visual Genome region descriptions -> a UMG index (.jsonl), see docs/dataset_converters.md.

Example::

    python tools/dataset_converters/vg2umg.py data/vg/region_descriptions.json \
        data/vg/image_data.json data/vg/umg_regions.jsonl
"""
import argparse

from umg_mm.datasets.converters.visual_genome_umg import convert_visual_genome_to_umg


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('region_descriptions', help='region_descriptions.json')
    parser.add_argument('image_data', help='image_data.json')
    parser.add_argument('out', help='output .jsonl')
    args = parser.parse_args(argv)
    counts = convert_visual_genome_to_umg(args.region_descriptions, args.image_data, args.out)
    print(f'wrote {args.out}: ' + ', '.join(f'{v} {k}' for k, v in counts.items()))


if __name__ == '__main__':
    main()
