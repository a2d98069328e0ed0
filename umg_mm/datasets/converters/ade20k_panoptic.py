"""ADE20K scene parsing (150 classes) + its instance annotations -> COCO panoptic format.

Inputs, in the ``ADEChallengeData2016`` folder (the scene parsing release plus the instance
release unpacked into it, as for Mask2Former's and mmdet's ADE20K panoptic preparation):

- ``images/<split>/<name>.jpg``;
- ``annotations/<split>/<name>.png``: semantic class ``1 .. 150`` (0 = other, void);
- ``annotations_instance/<split>/<name>.png``: R = instance category ``1 .. 100``, G = instance
  id (0 = none);
- ``objectInfo150.txt`` (tab separated) or ``objectInfo150.csv``: ``Idx, Ratio, Train, Val,
  Name`` with synonyms separated by ``;``;
- ``categoryMapping.txt``: a header line, then ``<instance category> <semantic class> <name>``
  per line; its semantic classes are the 100 things, the other 50 classes are stuff.

Each stuff class of the semantic map becomes one segment; each instance becomes one thing
segment, painted over the stuff (the two annotations overlap a little). The outputs
``ade20k_panoptic_<train|val>.json`` and PNG folders ``ade20k_panoptic_<train|val>/`` have
category id = semantic class, categories listed things first (as mmdet's panoptic heads need),
names = the synonyms joined by ``', '``, and integer image ids. The vocabulary files
``ade20k_panoptic_{things,stuff,classes}.txt`` hold the names in that order.
"""
import csv
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from umg_mm.utils.atomic_io import write_bytes_atomic, write_json_atomic
from ..mask_rle import mask_box_xyxy
from ..panoptic_png import encode_panoptic_png
from ...structures.vocabulary import write_vocabulary_file
from .common import read_image

SPLITS = {'training': 'train', 'validation': 'val'}


def read_object_info(path: str) -> List[str]:
    """Names of the 150 classes from ``objectInfo150.txt``/``.csv``, in class order."""
    with open(path, encoding='utf-8') as f:
        rows = list(csv.reader(f) if path.endswith('.csv') else
                    (line.rstrip('\n').split('\t') for line in f))
    header, rows = rows[0], [r for r in rows[1:] if r and any(c.strip() for c in r)]
    if 'Name' not in header or 'Idx' not in header:
        raise ValueError(f'{path}: expected a header with Idx and Name, got {header}')
    idx_col, name_col = header.index('Idx'), header.index('Name')
    names = []
    for line_no, row in enumerate(rows, 2):
        if int(row[idx_col]) != len(names) + 1:
            raise ValueError(f'{path}, row {line_no}: Idx {row[idx_col]} where {len(names) + 1}'
                             f' was expected')
        names.append(', '.join(s.strip() for s in row[name_col].split(';') if s.strip()))
    return names


def read_category_mapping(path: str, num_classes: int) -> Dict[int, int]:
    """Instance category -> semantic class, from ``categoryMapping.txt``."""
    mapping = {}
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    for line_no, line in enumerate(lines[1:], 2):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
            raise ValueError(f'{path}, line {line_no}: expected "<instance category> <semantic '
                             f'class> <name>", got {line!r}')
        sem = int(parts[1])
        if not 1 <= sem <= num_classes:
            raise ValueError(f'{path}, line {line_no}: semantic class {sem} is outside '
                             f'1..{num_classes}')
        mapping[int(parts[0])] = sem
    return mapping


def _find(root: str, names: Tuple[str, ...]) -> str:
    for name in names:
        if osp.isfile(osp.join(root, name)):
            return osp.join(root, name)
    raise FileNotFoundError(f'none of {list(names)} found in {root}')


def _convert_image(sem_path: str, ins_path: str, things: set,
                   mapping: Dict[int, int]) -> Tuple[np.ndarray, List[dict]]:
    sem = read_image(sem_path, cv2.IMREAD_UNCHANGED)
    ins = read_image(ins_path, cv2.IMREAD_COLOR)
    if sem.ndim != 2:
        raise ValueError(f'{sem_path}: a semantic map must have one channel, got {sem.shape}')
    if ins.shape[:2] != sem.shape:
        raise ValueError(f'{ins_path} is {ins.shape[1]}x{ins.shape[0]} but {sem_path} is '
                         f'{sem.shape[1]}x{sem.shape[0]}')
    ids = np.zeros(sem.shape, np.int32)
    categories = []
    for cls in np.unique(sem):
        if cls != 0 and int(cls) not in things:
            categories.append(int(cls))
            ids[sem == cls] = len(categories)
    ins_cat, ins_id = ins[..., 2], ins[..., 1]
    for inst in np.unique(ins_id):
        if inst == 0:
            continue
        mask = ins_id == inst
        cats = np.unique(ins_cat[mask])
        if len(cats) != 1 or int(cats[0]) not in mapping:
            raise ValueError(f'{ins_path}: instance {inst} has instance categories '
                             f'{cats.tolist()}; expected one category listed in '
                             f'categoryMapping.txt')
        categories.append(mapping[int(cats[0])])
        ids[mask] = len(categories)
    segments = []
    for seg_id, cat in enumerate(categories, 1):
        mask = ids == seg_id
        if not mask.any():  # stuff entirely covered by instances
            continue
        x1, y1, x2, y2 = mask_box_xyxy(mask)
        segments.append({'id': seg_id, 'category_id': cat, 'iscrowd': 0,
                         'bbox': [x1, y1, x2 - x1, y2 - y1], 'area': int(mask.sum())})
    return ids, segments


def convert_ade20k_panoptic(ade_root: str, out_dir: str) -> Dict:
    """Convert ADE20K (``ADEChallengeData2016`` with instance annotations) to COCO panoptic.

    Args:
        ade_root (str): The ``ADEChallengeData2016`` folder.
        out_dir (str): Output folder.

    Returns:
        dict: ``num_things``, ``num_stuff`` and ``images`` written per split.
    """
    names = read_object_info(_find(ade_root, ('objectInfo150.txt', 'objectInfo150.csv')))
    mapping = read_category_mapping(_find(ade_root, ('categoryMapping.txt', )), len(names))
    things = set(mapping.values())
    order = sorted(things) + [c for c in range(1, len(names) + 1) if c not in things]
    categories = [{'id': c, 'name': names[c - 1], 'isthing': int(c in things)} for c in order]
    written = {}
    for split, short in SPLITS.items():
        image_dir = osp.join(ade_root, 'images', split)
        if not osp.isdir(image_dir):
            continue
        images, annotations = [], []
        for image_id, name in enumerate(sorted(n for n in os.listdir(image_dir)
                                               if n.endswith('.jpg'))):
            stem = name[:-4]
            ids, segments = _convert_image(
                osp.join(ade_root, 'annotations', split, f'{stem}.png'),
                osp.join(ade_root, 'annotations_instance', split, f'{stem}.png'), things,
                mapping)
            write_bytes_atomic(osp.join(out_dir, f'ade20k_panoptic_{short}', f'{stem}.png'),
                               encode_panoptic_png(ids))
            images.append({'id': image_id, 'file_name': name, 'height': ids.shape[0],
                           'width': ids.shape[1]})
            annotations.append({'image_id': image_id, 'file_name': f'{stem}.png',
                                'segments_info': segments})
        write_json_atomic(osp.join(out_dir, f'ade20k_panoptic_{short}.json'),
                          {'images': images, 'annotations': annotations,
                           'categories': categories})
        written[short] = len(images)
    if not written:
        raise FileNotFoundError(f'neither images/training nor images/validation found in '
                                f'{ade_root}')
    thing_names = [c['name'] for c in categories if c['isthing']]
    stuff_names = [c['name'] for c in categories if not c['isthing']]
    write_vocabulary_file(osp.join(out_dir, 'ade20k_panoptic_things.txt'), thing_names)
    write_vocabulary_file(osp.join(out_dir, 'ade20k_panoptic_stuff.txt'), stuff_names)
    write_vocabulary_file(osp.join(out_dir, 'ade20k_panoptic_classes.txt'),
                          thing_names + stuff_names)
    return {'num_things': len(thing_names), 'num_stuff': len(stuff_names), 'images': written}
