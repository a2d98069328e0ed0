"""COCO 2017 and COCO-Stuff 164k in miniature, in their releases' layouts.

COCO 2017 (layout of cocodataset.org's downloads, read by mmdet's ``_base_/datasets/
coco_panoptic.py`` and ``coco_instance.py``)::

    coco/train2017/000000000009.jpg ...       val2017/000000000139.jpg ...
    coco/annotations/instances_{train,val}2017.json   captions_{train,val}2017.json
    coco/annotations/panoptic_{train,val}2017.json    panoptic_{train,val}2017/<id>.png

The JSON files carry the real fields (``info``, ``licenses``, ``images`` with ``license``,
``coco_url``, ``date_captured``...; instances with polygon segmentations and uncompressed-RLE
crowds; captions with stray whitespace; panoptic ``segments_info`` with ``id``, ``category_id``,
``iscrowd``, ``bbox``, ``area``) and all 80 (instances) or 133 (panoptic) categories with their real
ids, which skip numbers (things 1..90 without 12, 26, ...; stuff 92..200). Image ids skip numbers
too. Panoptic PNGs are RGB, segment id = R + 256 G + 256^2 B, 0 = void (unlabeled). Quirks: void
pixels in every image, a crowd segment, a grayscale JPEG, a JPEG stored turned with an EXIF
orientation tag (its sizes and annotations upright), categories listed but absent from a split (dog
only in val, road only in train).

COCO-Stuff 164k as mmseg's ``tools/dataset_converters/coco_stuff164k.py`` leaves it
(``convert_to_trainID``, run on the maps here: its assertion on the full release's 123,287 maps
is what keeps the script itself from running on a miniature)::

    coco_stuff164k/images/{train2017,val2017}/<id>.jpg
    coco_stuff164k/annotations/{train2017,val2017}/<id>.png               (stuffthingmaps: id - 1)
    coco_stuff164k/annotations/{train2017,val2017}/<id>_labelTrainIds.png (0..170, 255 unlabeled)
"""
import importlib.util
import json
from pathlib import Path
from typing import Dict, List

import numpy as np
from mmdet.datasets import CocoPanopticDataset
from panopticapi.utils import id2rgb
from PIL import Image

from .images import layout, paint, present, write_jpeg, write_png

MMSEG_TOOLS = Path(importlib.util.find_spec('mmseg').origin).parent / '.mim' / 'tools'
#: COCO's 80 thing category ids (instances and panoptic): 1..90 with 10 numbers unused.
THING_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]
#: COCO panoptic's 53 stuff category ids (panoptic_coco_categories.json of panopticapi).
STUFF_IDS = [92, 93, 95, 100, 107, 109, 112, 118, 119, 122, 125, 128, 130, 133, 138, 141, 144,
             145, 147, 148, 149, 151, 154, 155, 156, 159, 161, 166, 168, 171, 175, 176, 177, 178,
             180, 181, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198,
             199, 200]
PERSON, CAR, DOG, ROAD, SKY, GRASS, WALL = 1, 3, 18, 149, 187, 193, 199
#: per split: (image id, (h, w), bands (category, y0, y1), boxes (category, (y0, y1, x0, x1)),
#: crowd boxes, grayscale, EXIF orientation); -1 = void
IMAGES = {
    'train2017': [
        (9, (48, 64), [(SKY, 0, 20), (GRASS, 22, 48)], [(PERSON, (24, 44, 6, 20)),
                                                        (CAR, (30, 46, 30, 58))], [], False, 0),
        (25, (64, 48), [(WALL, 0, 30), (ROAD, 32, 64)], [(CAR, (36, 60, 4, 40))],
         [(PERSON, (4, 20, 8, 40))], True, 0),
        (30, (48, 48), [(SKY, 0, 16), (ROAD, 18, 48)], [(PERSON, (20, 44, 20, 32))], [], False,
         0),
    ],
    'val2017': [
        (139, (48, 64), [(SKY, 0, 18), (GRASS, 20, 48)], [(DOG, (26, 44, 8, 30)),
                                                          (PERSON, (22, 46, 40, 54))], [],
         False, 0),
        (285, (56, 40), [(WALL, 0, 30), (GRASS, 32, 56)], [(DOG, (34, 52, 6, 34))], [], False,
         6),
        (632, (48, 48), [(SKY, 0, 20), (GRASS, 22, 48)], [(CAR, (26, 44, 10, 40))], [], True, 0),
    ],
}


def panoptic_categories() -> List[dict]:
    """The 133 categories of ``panoptic_*2017.json``: ids, names (mmdet's, which are COCO's),
    ``isthing``, ``supercategory`` and ``color``."""
    meta = CocoPanopticDataset.METAINFO
    names = list(meta['thing_classes']) + list(meta['stuff_classes'])
    ids = THING_IDS + STUFF_IDS
    assert len(names) == len(ids) == 133
    return [dict(id=i, name=n, isthing=int(i <= 90), supercategory='thing' if i <= 90 else
                 n.split('-')[0], color=[(i * 37) % 256, (i * 91) % 256, (i * 53) % 256])
            for i, n in zip(ids, names)]


def _image_record(image_id, shape, split):
    name = f'{image_id:012d}.jpg'
    return dict(license=1, file_name=name, coco_url=f'http://images.cocodataset.org/{split}/'
                f'{name}', height=shape[0], width=shape[1], date_captured='2013-11-14 16:28:13',
                flickr_url='', id=image_id)


def _bbox(mask):
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
            int(ys.max() - ys.min() + 1)]


def write_coco2017(data: Path) -> Path:
    """Write ``data/coco`` (both splits, all four annotation kinds); returns that folder."""
    root = data / 'coco'
    categories = panoptic_categories()
    names = {c['id']: c['name'] for c in categories}
    rng = np.random.default_rng(2017)
    ann_id = 100000
    for split, images in IMAGES.items():
        image_records, instances, captions, panoptic = [], [], [], []
        for image_id, shape, bands, boxes, crowds, gray, orientation in images:
            classes = layout(shape, bands, boxes + crowds, fill=-1)
            classes[:, :2] = -1  # a void border column, as annotators leave
            write_jpeg(root / split / f'{image_id:012d}.jpg', paint(classes, image_id), gray,
                       orientation)
            image_records.append(_image_record(image_id, shape, split))
            segment_ids = np.zeros(shape, np.int64)
            segments = []
            crowd_set = {c for c, _ in crowds}
            items = [(c, classes == c, False) for c in sorted({c for c, *_ in bands})]
            items += [(c, layout(shape, [], [(1, b)]).astype(bool) & (classes == c), False)
                      for c, b in boxes]
            items += [(c, classes == c, True) for c in crowd_set]
            for category, mask, crowd in items:
                if not mask.any():
                    continue
                seg_id = int(rng.integers(1, 256 ** 3))  # arbitrary, as in the release
                segment_ids[mask] = seg_id
                segments.append(dict(id=seg_id, category_id=category, iscrowd=int(crowd),
                                     bbox=_bbox(mask), area=int(mask.sum())))
                if category <= 90:
                    ann_id += 7  # instance ids skip numbers as well
                    if crowd:  # COCO stores crowds as uncompressed RLE
                        seg = dict(counts=uncompressed_rle(mask), size=list(shape))
                    else:
                        x, y, w, h = _bbox(mask)
                        seg = [[x, y, x + w, y, x + w, y + h, x, y + h]]
                    instances.append(dict(
                        segmentation=seg, area=int(mask.sum()), iscrowd=int(crowd),
                        image_id=image_id, bbox=[float(v) for v in _bbox(mask)],
                        category_id=category, id=ann_id))
            png = f'{image_id:012d}.png'
            write_png(root / 'annotations' / f'panoptic_{split}' / png, id2rgb(segment_ids))
            panoptic.append(dict(segments_info=segments, file_name=png, image_id=image_id))
            things = ' and '.join(names[c] for c, _ in boxes)
            for k, text in enumerate([f'A {things} in a picture.', f' a photo of {things}\n',
                                      f'{things.upper()} outdoors']):
                captions.append(dict(image_id=image_id, id=image_id * 10 + k, caption=text))
        header = dict(info=dict(description='COCO 2017 Dataset', url='http://cocodataset.org',
                                version='1.0', year=2017, contributor='COCO Consortium',
                                date_created='2017/09/01'),
                      licenses=[dict(url='http://creativecommons.org/licenses/by-nc-sa/2.0/',
                                     id=1, name='Attribution-NonCommercial-ShareAlike License')],
                      images=image_records)
        thing_categories = [dict(supercategory=c['supercategory'], id=c['id'], name=c['name'])
                            for c in categories if c['isthing']]
        files = {f'instances_{split}.json': dict(header, annotations=instances,
                                                 categories=thing_categories),
                 f'captions_{split}.json': dict(header, annotations=captions),
                 f'panoptic_{split}.json': dict(header, annotations=panoptic,
                                                categories=categories)}
        for name, content in files.items():
            (root / 'annotations' / name).write_text(json.dumps(content))
    return root


def uncompressed_rle(mask: np.ndarray) -> List[int]:
    """COCO's uncompressed RLE counts of a binary mask: column-major runs, 0s first."""
    flat = mask.flatten(order='F').astype(np.int8)
    edges = np.concatenate([[0], np.flatnonzero(flat[1:] != flat[:-1]) + 1, [flat.size]])
    runs = np.diff(edges).tolist()
    return [0] + runs if flat[0] else runs


def _mmseg_stuff_converter():
    """mmseg's ``coco_stuff164k.py`` converter module (for ``convert_to_trainID``)."""
    spec = importlib.util.spec_from_file_location(
        'mmseg_coco_stuff164k', MMSEG_TOOLS / 'dataset_converters' / 'coco_stuff164k.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: COCO-Stuff raw values (category id - 1): person 0, car 2, dog 17, grass 123, road 148,
#: sky-other 156, wall-concrete 171; 255 unlabeled
STUFF_IMAGES = {
    'train2017': [(9, (48, 64), [(156, 0, 20), (123, 22, 48)], [(0, (24, 44, 6, 20))]),
                  (25, (64, 48), [(171, 0, 30), (148, 32, 64)], [(2, (36, 60, 4, 40))])],
    'val2017': [(139, (48, 64), [(156, 0, 18), (123, 20, 48)], [(17, (26, 44, 8, 30))]),
                (285, (56, 40), [(171, 0, 30), (123, 32, 56)], [(0, (34, 52, 6, 34))])],
}


def write_coco_stuff164k(data: Path) -> Dict[str, Dict[int, int]]:
    """Write ``data/coco_stuff164k`` (raw stuffthingmaps, then ``_labelTrainIds.png`` by mmseg's
    ``convert_to_trainID``); returns the train-id pixel counts per split (255 left out)."""
    root = data / 'coco_stuff164k'
    convert = _mmseg_stuff_converter().convert_to_trainID
    counts = {}
    for split, images in STUFF_IMAGES.items():
        total: Dict[int, int] = {}
        for image_id, shape, bands, boxes in images:
            raw = layout(shape, bands, boxes, fill=255)
            raw[:, :2] = 255
            stem = f'{image_id:012d}'
            write_jpeg(root / 'images' / split / f'{stem}.jpg', paint(raw, image_id))
            raw_png = root / 'annotations' / split / f'{stem}.png'
            write_png(raw_png, raw.astype(np.uint8))
            convert(str(raw_png), out_mask_dir=str(root / 'annotations'),
                    is_train=split == 'train2017')
            train_ids = np.asarray(Image.open(
                root / 'annotations' / split / f'{stem}_labelTrainIds.png'))
            for value, count in present(train_ids, [255]).items():
                total[value] = total.get(value, 0) + count
        counts[split] = total
    return counts
