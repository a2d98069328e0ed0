"""Turning one rendered scene into every annotation format of the synthetic world.

For one image this builds the UMG record (``umg/1``), the COCO panoptic PNG and segments, the
COCO instance annotations, the mmseg label map and the image-level labels. In the train split,
held-out categories are removed from the segmentation labels only (panoptic, instances, label
map); the UMG record always keeps everything.
"""
from typing import Dict, List, Sequence

import cv2
import numpy as np

from ..mask_rle import encode_rle, mask_box_xyxy
from ..panoptic_png import encode_panoptic_png
from .captions import add_noise, image_captions, noun_phrase
from .categories import ALL_CLASSES, THING_CLASSES, category_id
from .scene import Scene, Thing

IGNORE_INDEX = 255


def xyxy_to_xywh(box: Sequence[float]) -> List[float]:
    """COCO's ``[x, y, w, h]`` from ``[x1, y1, x2, y2]``."""
    return [box[0], box[1], box[2] - box[0], box[3] - box[1]]


def _imencode(ext: str, array: np.ndarray, params: Sequence[int] = ()) -> bytes:
    ok, buf = cv2.imencode(ext, array, list(params))
    if not ok:
        raise RuntimeError(f'OpenCV could not encode an array of shape {array.shape} as {ext}')
    return buf.tobytes()


def encode_jpeg(image_rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an RGB ``uint8`` image ``(h, w, 3)``."""
    return _imencode('.jpg', image_rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])


def encode_label_png(labels: np.ndarray) -> bytes:
    """Single-channel PNG bytes of an mmseg label map (``uint8``, 255 = ignore)."""
    return _imencode('.png', labels.astype(np.uint8))


def annotate_scene(stem: str, image: np.ndarray, scene: Scene, bands: np.ndarray,
                   things: List[Thing], thing_masks: List[np.ndarray], held_out: Sequence[str],
                   seg_classes: Sequence[str], caption_noise: float,
                   noise_rng: np.random.Generator, order_rng: np.random.Generator) -> Dict:
    """Build all annotations of one image.

    Args:
        stem (str): File stem, e.g. ``'train_000007'``; images are ``<stem>.jpg``.
        image (np.ndarray): RGB ``(h, w, 3)``.
        scene (Scene): The sampled scene (stuff layout and classes).
        bands (np.ndarray): int ``(h, w)`` stuff band per pixel, -1 under things.
        things (list[Thing]): The things kept after rendering.
        thing_masks (list[np.ndarray]): Their visible masks, bool ``(h, w)``.
        held_out (Sequence[str]): Classes to remove from the segmentation labels (empty for
            val).
        seg_classes (Sequence[str]): Classes of the label map, in index order.
        caption_noise (float): Probability that a caption is corrupted (see
            :func:`add_noise`).
        noise_rng (np.random.Generator): Stream for caption noise only.
        order_rng (np.random.Generator): Stream for the order of mentions in captions.

    Returns:
        dict: ``record`` (UMG), ``panoptic_png`` (bytes), ``segments_info`` (COCO panoptic,
        ``xywh``), ``instances`` (COCO instances without ``id``/``image_id``), ``label_png``
        (bytes) and ``image_labels``.
    """
    h, w = bands.shape
    held_out = set(held_out)
    seg_index = {name: i for i, name in enumerate(seg_classes)}
    thing_infos = [dict(shape=t.shape, colour=t.colour, size=t.size, bbox=mask_box_xyxy(m))
                   for t, m in zip(things, thing_masks)]

    segments, segments_info, instances = [], [], []
    segment_ids = np.zeros((h, w), np.int32)
    label_map = np.full((h, w), IGNORE_INDEX, np.uint8)

    def add_segment(name: str, mask: np.ndarray, isthing: bool, caption: str) -> None:
        rle = encode_rle(mask)
        segments.append({'segmentation': rle, 'tags': [name], 'captions': [caption],
                         'isthing': isthing})
        if name in held_out:
            return
        seg_id = len(segments)
        box = xyxy_to_xywh(mask_box_xyxy(mask))
        area = int(mask.sum())
        segment_ids[mask] = seg_id
        label_map[mask] = seg_index[name]
        segments_info.append({'id': seg_id, 'category_id': category_id(name), 'iscrowd': 0,
                              'bbox': box, 'area': area})
        if isthing:
            instances.append({'category_id': category_id(name), 'segmentation': rle,
                              'area': area, 'bbox': box, 'iscrowd': 0})

    for k, name in enumerate(scene.stuff):
        mask = bands == k
        if mask.any():
            add_segment(name, mask, False, name)
    regions = []
    for info, mask in zip(thing_infos, thing_masks):
        phrase = noun_phrase(info['size'], info['colour'], info['shape'])
        add_segment(info['shape'], mask, True, phrase)
        regions.append({'bbox': info['bbox'],
                        'captions': [add_noise(phrase, noise_rng, caption_noise),
                                     f'the {info["colour"]} {info["shape"]}'],
                        'tags': [info['shape']]})

    present = set(scene.stuff) | {t.shape for t in things}
    tags = [name for name in ALL_CLASSES if name in present]
    captions = [add_noise(c, noise_rng, caption_noise)
                for c in image_captions(thing_infos, scene.layout, scene.stuff, order_rng)]
    record = {
        'schema': 'umg/1',
        'image': {'file_name': f'{stem}.jpg', 'height': h, 'width': w, 'id': stem},
        'captions': captions,
        'tags': tags,
        'regions': regions,
        'segments': segments,
        'extra': {'layout': scene.layout, 'stuff': list(scene.stuff),
                  'things': [{k: info[k] for k in ('shape', 'colour', 'size')}
                             for info in thing_infos]},
    }
    areas = [int(m.sum()) for m in thing_masks]
    main = things[int(np.argmax(areas))].shape
    image_labels = {'file_name': f'{stem}.jpg', 'labels': tags, 'main_label': main,
                    'main_label_index': THING_CLASSES.index(main)}
    return {'record': record, 'panoptic_png': encode_panoptic_png(segment_ids),
            'segments_info': segments_info, 'instances': instances,
            'label_png': encode_label_png(label_map), 'image_labels': image_labels}
