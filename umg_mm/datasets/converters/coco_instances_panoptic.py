"""COCO instance annotations (things only) -> COCO panoptic format.

mmdet's panoptic pipeline and umg_mm's open-vocabulary Mask2Former read COCO panoptic files: a
JSON whose ``annotations`` list one PNG and its ``segments_info`` per image, and PNGs whose
colours encode segment ids. A COCO instances file (polygons or RLE per object, no stuff) becomes
one: each instance is one thing segment (where instances overlap, the smaller one is painted
last and wins; an instance left with no pixel is dropped and counted); the pixels of no instance
become one segment of a stuff category ``stuff_name`` (the model needs at least one stuff class).
Crowd annotations keep ``iscrowd=1``. Category ids are kept; the stuff category gets the next
free id and is listed last (things first, as mmdet's panoptic heads need).
"""
import os.path as osp
from typing import Dict, List

import numpy as np
import pycocotools.mask as mask_utils

from umg_mm.utils.atomic_io import write_bytes_atomic, write_json_atomic
from ..mask_rle import mask_box_xyxy, segmentation_to_rle
from ..panoptic_png import encode_panoptic_png
from .common import load_json, require_keys


def instance_rle(segmentation, height: int, width: int, where: str) -> dict:
    """A COCO ``segmentation`` (polygons, uncompressed or compressed RLE) of an image of
    ``height`` x ``width`` as a compressed RLE; errors name ``where``."""
    try:
        rle = segmentation_to_rle(segmentation, height, width)
    except ValueError as error:
        raise ValueError(f'{where}: {error}') from None
    if list(rle.get('size', [])) != [height, width]:
        raise ValueError(f'{where}: RLE size {rle.get("size")} is not the image size '
                         f'[{height}, {width}]')
    if isinstance(rle['counts'], str):
        rle = dict(rle, counts=rle['counts'].encode())
    return rle


def _box_xywh(mask: np.ndarray) -> List[int]:
    x1, y1, x2, y2 = mask_box_xyxy(mask)
    return [int(x1), int(y1), int(x2 - x1), int(y2 - y1)]


def convert_coco_instances_to_panoptic(instances_file: str, out_file: str, png_dir: str,
                                       stuff_name: str = 'background') -> Dict[str, int]:
    """Write ``out_file`` (panoptic JSON) and ``png_dir/<image stem>.png`` from ``instances_file``.

    Args:
        instances_file: a COCO instances JSON (``images``, ``annotations``, ``categories``).
        out_file: the panoptic JSON to write.
        png_dir: the folder of panoptic PNGs (``<file_name without extension>.png``).
        stuff_name: the name of the stuff category of the unannotated pixels.

    Returns:
        Counts: ``images``, ``segments`` (things), ``background`` (images with a stuff segment),
        ``dropped`` (instances hidden by others or empty).
    """
    data = load_json(instances_file, 'COCO instances annotation file')
    require_keys(data, ('images', 'annotations', 'categories'), instances_file, 'the file')
    categories = [dict(id=c['id'], name=c['name'], supercategory=c.get('supercategory', ''),
                       isthing=1) for c in data['categories']]
    if stuff_name in {c['name'] for c in categories}:
        raise ValueError(f'{instances_file}: stuff_name {stuff_name!r} is already a category; '
                         f'choose another name for the unannotated pixels')
    stuff_id = max((c['id'] for c in categories), default=0) + 1
    categories.append(dict(id=stuff_id, name=stuff_name, supercategory='', isthing=0))
    known = {c['id'] for c in categories[:-1]}
    per_image: Dict[int, list] = {}
    for i, ann in enumerate(data['annotations']):
        require_keys(ann, ('image_id', 'category_id', 'segmentation'), instances_file,
                     f'annotations[{i}]')
        if ann['category_id'] not in known:
            raise ValueError(f'{instances_file}: annotations[{i}] has category_id '
                             f'{ann["category_id"]}, not in categories {sorted(known)}')
        per_image.setdefault(ann['image_id'], []).append((i, ann))

    counts = dict(images=0, segments=0, background=0, dropped=0)
    annotations = []
    for j, image in enumerate(data['images']):
        require_keys(image, ('id', 'file_name', 'height', 'width'), instances_file, f'images[{j}]')
        h, w = image['height'], image['width']
        instances = [(ann, instance_rle(ann['segmentation'], h, w,
                                        f'{instances_file}: annotations[{i}]'))
                     for i, ann in per_image.get(image['id'], [])]
        ids = np.zeros((h, w), np.int64)
        # largest first, so a smaller instance on top of a larger one stays visible
        areas = mask_utils.area([rle for _, rle in instances]) if instances else []
        for k in sorted(range(len(instances)), key=lambda k: -int(areas[k])):
            ids[mask_utils.decode(instances[k][1]).astype(bool)] = k + 1
        kept_areas = np.bincount(ids.ravel(), minlength=len(instances) + 1)
        segments = []
        for k, (ann, _) in enumerate(instances):
            if kept_areas[k + 1] == 0:
                counts['dropped'] += 1
                continue
            segments.append(dict(id=k + 1, category_id=ann['category_id'],
                                 iscrowd=int(ann.get('iscrowd', 0)),
                                 area=int(kept_areas[k + 1]), bbox=_box_xywh(ids == k + 1)))
        background = ids == 0
        if background.any():
            ids[background] = len(instances) + 1
            segments.append(dict(id=len(instances) + 1, category_id=stuff_id, iscrowd=0,
                                 area=int(background.sum()), bbox=_box_xywh(background)))
            counts['background'] += 1
        png_name = osp.splitext(image['file_name'])[0] + '.png'
        write_bytes_atomic(osp.join(png_dir, png_name), encode_panoptic_png(ids))
        annotations.append(dict(image_id=image['id'], file_name=png_name,
                                segments_info=segments))
        counts['images'] += 1
        counts['segments'] += sum(s['category_id'] != stuff_id for s in segments)
    write_json_atomic(out_file, dict(images=data['images'], annotations=annotations,
                                     categories=categories))
    return counts
