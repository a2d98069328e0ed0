"""Write the benchmark vocabulary files of umg_mm from the class names mmdet and mmseg ship.

Usage::

    python tools/dataset_converters/vocabularies_from_metainfo.py [--out-dir DIR] [--check]

Each file has one class per line in the dataset's label order (the order of its METAINFO
``classes``), written as text a CLIP text tower reads well: COCO's ``wall-other-merged`` becomes
``wall``, ``floor-wood`` becomes ``wood floor``, VOC's ``tvmonitor`` becomes
``tv monitor, television`` (synonyms after the first name, comma-separated). ``--check`` compares
instead of writing and exits with 1 when a shipped file differs.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

#: names whose text form is not found by the generic rules (synonyms after the first)
RENAMES = {
    'aeroplane': 'aeroplane, airplane',
    'diningtable': 'dining table',
    'motorbike': 'motorbike, motorcycle',
    'pottedplant': 'potted plant',
    'tvmonitor': 'tv monitor, television',
    'tv': 'tv, television',
    'playingfield': 'playing field',
    'bedclothes': 'bedclothes, bedding',
    'structural-other': 'structure',
    'solid-other': 'solid',
    'ashcan': 'ashcan, trash can',
    'crt screen': 'crt screen, monitor',
    'hair drier': 'hair drier, hair dryer',
}


def text_name(name: str) -> str:
    """The CLIP-friendly text of a dataset class name."""
    name = name.strip()
    if name in RENAMES:
        return RENAMES[name]
    for suffix in ('-merged', '-stuff', '-other'):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
    if name in RENAMES:
        return RENAMES[name]
    if '-' in name:  # 'floor-wood' -> 'wood floor'; 'window-blind' keeps its order
        head, material = name.split('-', 1)
        name = f'{head} {material}' if head == 'window' else f'{material} {head}'
    return name


def vocabularies() -> dict:
    """File name -> list of lines, from the installed mmdet/mmseg METAINFO."""
    from mmdet.datasets import CocoPanopticDataset
    from mmseg.datasets import (ADE20KDataset, COCOStuffDataset, PascalContextDataset59,
                                PascalVOCDataset)
    voc = list(PascalVOCDataset.METAINFO['classes'])
    sources = {
        'coco_panoptic_133': CocoPanopticDataset.METAINFO['classes'],
        'coco_stuff_171': COCOStuffDataset.METAINFO['classes'],
        'ade20k_150': ADE20KDataset.METAINFO['classes'],
        'pascal_context_59': PascalContextDataset59.METAINFO['classes'],
        'pascal_voc_21': voc,
        'pascal_voc_20': [c for c in voc if c != 'background'],
    }
    return {name: [text_name(c) for c in classes] for name, classes in sources.items()}


def render(lines) -> str:
    return ''.join(f'{line}\n' for line in lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    default_dir = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                           'umg_mm', 'structures', 'vocabularies')
    parser.add_argument('--out-dir', default=default_dir)
    parser.add_argument('--check', action='store_true', help='compare, do not write')
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    stale = []
    for name, lines in vocabularies().items():
        path = osp.join(args.out_dir, f'{name}.txt')
        text = render(lines)
        if args.check:
            current = open(path, encoding='utf-8').read() if osp.isfile(path) else None
            if current != text:
                stale.append(path)
            continue
        with tempfile.NamedTemporaryFile('w', dir=args.out_dir, delete=False,
                                         encoding='utf-8') as f:
            f.write(text)
        os.replace(f.name, path)
        print(f'{path}: {len(lines)} classes')
    if stale:
        print('out of date (run without --check to rewrite): ' + ', '.join(stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
