"""COCO captions + COCO panoptic -> UMG records (``umg/1``, one ``.jsonl`` index).

For every image of the inputs, the record holds its captions (image level), one region per
non-crowd thing segment (its box, with the category as tag) and one segment per panoptic segment
(COCO RLE decoded from the panoptic PNG, the category as tag, ``isthing`` from the category).
Crowd segments are kept as segments but give no region. ``image.file_name`` is the COCO
``file_name``, so the index is read with ``data_prefix=dict(img='<coco>/train2017')``.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Optional

import cv2
import numpy as np

from umg_mm.utils.atomic_io import atomic_open, dumps_json
from ..mask_rle import encode_rle
from ..panoptic_png import decode_panoptic_bgr
from .common import load_json, read_image, require_keys

_SUFFIXES = ('-merged', '-other', '-stuff')


def clean_category_name(name: str) -> str:
    """A tag from a COCO panoptic category name (``'wall-other-merged'`` -> ``'wall'``)."""
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if name.endswith(suffix):
                name, changed = name[:-len(suffix)], True
    return name.replace('-', ' ')


def _clean_caption(text: str) -> str:
    return re.sub(r'\s+', ' ', text).strip()


def _panoptic_ids(png_path: str, height: int, width: int) -> np.ndarray:
    ids = decode_panoptic_bgr(read_image(png_path, cv2.IMREAD_COLOR))
    if ids.shape != (height, width):
        raise ValueError(f'{png_path}: panoptic PNG is {ids.shape[1]}x{ids.shape[0]} but the '
                         f'image is {width}x{height} (width x height)')
    return ids


def _box_xyxy(bbox, width: int, height: int) -> Optional[List[float]]:
    x, y, w, h = (float(v) for v in bbox)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(width), x + w), min(float(height), y + h)
    return [x1, y1, x2, y2] if x2 > x1 and y2 > y1 else None


def convert_coco_to_umg(out_file: str, captions_file: Optional[str] = None,
                        panoptic_file: Optional[str] = None,
                        panoptic_dir: Optional[str] = None) -> Dict[str, int]:
    """Write a UMG ``.jsonl`` index from COCO captions and/or COCO panoptic annotations.

    Args:
        out_file (str): Output ``.jsonl`` (written atomically).
        captions_file (str, optional): ``captions_<split>.json``.
        panoptic_file (str, optional): ``panoptic_<split>.json``.
        panoptic_dir (str, optional): Folder of the panoptic PNGs (required with
            ``panoptic_file``).

    Returns:
        dict: Counts of ``images``, ``captions``, ``regions`` and ``segments`` written.
    """
    if captions_file is None and panoptic_file is None:
        raise ValueError('give captions_file, panoptic_file or both')
    if panoptic_file is not None and panoptic_dir is None:
        raise ValueError(f'panoptic_dir (the folder of the PNGs of {panoptic_file}) is required '
                         f'with panoptic_file')
    images: Dict[int, dict] = OrderedDict()
    captions: Dict[int, List[str]] = {}
    if captions_file is not None:
        data = load_json(captions_file, 'COCO captions file')
        require_keys(data, ('images', 'annotations'), captions_file, 'the top level')
        for i, img in enumerate(data['images']):
            require_keys(img, ('id', 'file_name', 'height', 'width'), captions_file,
                         f'images[{i}]')
            images[img['id']] = img
        for i, ann in enumerate(data['annotations']):
            require_keys(ann, ('image_id', 'caption'), captions_file, f'annotations[{i}]')
            if ann['image_id'] not in images:
                raise ValueError(f'{captions_file}: annotations[{i}] refers to image_id '
                                 f'{ann["image_id"]}, which is not in "images"')
            text = _clean_caption(ann['caption'])
            if text:
                captions.setdefault(ann['image_id'], []).append(text)

    panoptic: Dict[int, dict] = {}
    categories: Dict[int, dict] = {}
    if panoptic_file is not None:
        data = load_json(panoptic_file, 'COCO panoptic file')
        require_keys(data, ('images', 'annotations', 'categories'), panoptic_file,
                     'the top level')
        for i, cat in enumerate(data['categories']):
            require_keys(cat, ('id', 'name', 'isthing'), panoptic_file, f'categories[{i}]')
            categories[cat['id']] = cat
        for i, img in enumerate(data['images']):
            require_keys(img, ('id', 'file_name', 'height', 'width'), panoptic_file,
                         f'images[{i}]')
            images.setdefault(img['id'], img)
        for i, ann in enumerate(data['annotations']):
            require_keys(ann, ('image_id', 'file_name', 'segments_info'), panoptic_file,
                         f'annotations[{i}]')
            panoptic[ann['image_id']] = ann

    counts = dict(images=0, captions=0, regions=0, segments=0)
    with atomic_open(out_file) as f:
        for image_id, img in images.items():
            h, w = int(img['height']), int(img['width'])
            record = {'schema': 'umg/1',
                      'image': {'file_name': img['file_name'], 'height': h, 'width': w,
                                'id': image_id},
                      'captions': captions.get(image_id, [])}
            tags, regions, segments = [], [], []
            if image_id in panoptic:
                ann = panoptic[image_id]
                png = osp.join(panoptic_dir, ann['file_name'])
                ids = _panoptic_ids(png, h, w)
                for seg in ann['segments_info']:
                    cat = categories.get(seg['category_id'])
                    if cat is None:
                        raise ValueError(f'{panoptic_file}: segment {seg["id"]} of image '
                                         f'{image_id} has category_id {seg["category_id"]}, '
                                         f'which is not in "categories"')
                    mask = ids == seg['id']
                    if not mask.any():
                        raise ValueError(f'{png}: segment id {seg["id"]} listed in '
                                         f'{panoptic_file} for image {image_id} has no pixel')
                    tag = clean_category_name(cat['name'])
                    isthing = bool(cat['isthing'])
                    segments.append({'segmentation': encode_rle(mask), 'tags': [tag],
                                     'captions': [], 'isthing': isthing})
                    if tag not in tags:
                        tags.append(tag)
                    box = _box_xyxy(seg['bbox'], w, h) if 'bbox' in seg else None
                    if isthing and not seg.get('iscrowd', 0) and box is not None:
                        regions.append({'bbox': box, 'captions': [], 'tags': [tag]})
            record.update(tags=tags, regions=regions, segments=segments)
            f.write(dumps_json(record) + '\n')
            counts['images'] += 1
            counts['captions'] += len(record['captions'])
            counts['regions'] += len(regions)
            counts['segments'] += len(segments)
    return counts
