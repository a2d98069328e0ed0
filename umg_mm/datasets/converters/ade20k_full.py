"""ADE20K full release (``ADE20K_2021_17_01``) -> ADE-847 mmseg label maps and vocabulary.

The release holds ``index_ade20k.pkl`` (``filename``, ``folder``, ``objectnames``, ...: a dict of
lists and numpy arrays, read without unpickling anything else, so a crafted file runs no code) and,
beside each image ``images/ADE/<split>/<scene>/.../<name>.jpg``, a class mask ``<name>_seg.png``
whose object class is ``R // 10 * 256 + G`` (0 = unlabeled); class ``k`` is
``objectnames[k - 1]``.

The open-vocabulary benchmark "ADE-847" keeps the classes annotated in both the training and the
validation images. This converter derives that vocabulary from the masks themselves (a first pass
over both splits), orders it by the number of training images containing each class (most
frequent first, ties by ADE index) and writes, for the requested splits:

- ``images/<split>/<name>.jpg`` (shrunk so that the shorter side is at most ``max_short_side``,
  512 by default, as the benchmark evaluates), ``annotations/<split>/<name>.png``: 16-bit label
  maps, value = line of the vocabulary file, 65535 = ignore;
- ``ade20k_847.txt`` (one class per line), the file the ADE-847 configs read, and
  ``ade20k_847_classes.json`` (ADE index, name, training and validation image counts). The
  names are the benchmark's whatever the count found (847 on the official release; a subset
  or another release gives another count, which the result's ``num_classes`` reports).

Read them with mmseg's ``BaseSegDataset(img_suffix='.jpg', seg_map_suffix='.png')`` and
``ignore_index=65535``.
"""
import os
import os.path as osp
import shutil
from collections import Counter
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from umg_mm.utils.atomic_io import write_bytes_atomic, write_json_atomic
from umg_mm.utils.safe_pickle import load_data_pickle
from ...structures.vocabulary import write_vocabulary_file
from .common import IGNORE_INDEX_16BIT, read_image, resize_short_side, write_label_map

SPLITS = ('training', 'validation')
VOCABULARY_NAME = 'ade20k_847'  # what configs/_base_/datasets/umg_ade20k_847.py reads
BENCHMARK_CLASSES = 847
_MAX_CLASS = 26 * 256  # R // 10 <= 25


def decode_ade_class_mask(seg_bgr: np.ndarray) -> np.ndarray:
    """ADE20K full object class of each pixel from a ``*_seg.png`` read by OpenCV (BGR).

    Returns:
        np.ndarray: int32 ``(h, w)``; 0 = unlabeled, ``k`` = ``objectnames[k - 1]``.
    """
    r = seg_bgr[..., 2].astype(np.int32)
    g = seg_bgr[..., 1].astype(np.int32)
    return r // 10 * 256 + g


def _load_index(ade_root: str) -> Tuple[List[dict], List[str]]:
    path = osp.join(ade_root, 'index_ade20k.pkl')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: ade_root must be the ADE20K_2021_17_01 '
                                f'folder of the full ADE20K release')
    index = load_data_pickle(path)  # numpy arrays and containers only: no code runs
    if not isinstance(index, dict):
        raise ValueError(f'{path} holds a {type(index).__name__}, not the dict of the ADE20K '
                         f'release')
    for key in ('filename', 'folder', 'objectnames'):
        if key not in index:
            raise KeyError(f'{path} has no field {key!r} (fields: {sorted(index)})')
    images = []
    for i, (name, folder) in enumerate(zip(index['filename'], index['folder'])):
        folder = str(folder).replace('\\', '/')
        split = next((s for s in SPLITS if f'/{s}/' in f'/{folder}/'), None)
        if split is None:
            raise ValueError(f'{path}: folder[{i}] = {folder!r} names neither training nor '
                             f'validation')
        rel = folder[folder.index('images/'):] if 'images/' in folder else folder
        images.append({'name': str(name), 'split': split,
                       'path': osp.join(ade_root, rel, str(name))})
    return images, [str(n) for n in index['objectnames']]


def _seg_path(image_path: str) -> str:
    return osp.splitext(image_path)[0] + '_seg.png'


def convert_ade20k_full(ade_root: str, out_dir: str, splits: Sequence[str] = ('validation', ),
                        max_short_side: int = 512) -> Dict:
    """Convert the ADE20K full release to mmseg label maps over the train-and-val vocabulary.

    Args:
        ade_root (str): The ``ADE20K_2021_17_01`` folder.
        out_dir (str): Output folder.
        splits (Sequence[str]): Splits to write (``'training'``, ``'validation'``).
        max_short_side (int): Shrink images and maps so that the shorter side is at most this
            (0 keeps the original size).

    Returns:
        dict: ``num_classes``, ``vocabulary`` (path) and ``images`` written per split.
    """
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ValueError(f'unknown splits {unknown}; choose among {list(SPLITS)}')
    images, objectnames = _load_index(ade_root)
    presence = {s: Counter() for s in SPLITS}
    for img in images:
        classes = np.unique(decode_ade_class_mask(read_image(_seg_path(img['path']),
                                                             cv2.IMREAD_COLOR)))
        presence[img['split']].update(int(c) for c in classes if c != 0)
    for c in set(presence['training']) | set(presence['validation']):
        if c > len(objectnames):
            raise ValueError(f'class {c} in the masks is beyond the {len(objectnames)} '
                             f'objectnames of {osp.join(ade_root, "index_ade20k.pkl")}')
    shared = set(presence['training']) & set(presence['validation'])
    vocab = sorted(shared, key=lambda c: (-presence['training'][c], c))
    lut = np.full(_MAX_CLASS, IGNORE_INDEX_16BIT, np.uint16)
    lut[vocab] = np.arange(len(vocab), dtype=np.uint16)

    written = {}
    for split in splits:
        n = 0
        for img in (x for x in images if x['split'] == split):
            stem = osp.splitext(img['name'])[0]
            labels = lut[decode_ade_class_mask(read_image(_seg_path(img['path']),
                                                          cv2.IMREAD_COLOR))]
            out_img = osp.join(out_dir, 'images', split, f'{stem}.jpg')
            image = read_image(img['path'], cv2.IMREAD_COLOR)
            if image.shape[:2] != labels.shape:
                raise ValueError(f'{img["path"]} is {image.shape[1]}x{image.shape[0]} but its '
                                 f'mask {_seg_path(img["path"])} is {labels.shape[1]}x'
                                 f'{labels.shape[0]}')
            if max_short_side > 0 and min(labels.shape) > max_short_side:
                image = resize_short_side(image, max_short_side, cv2.INTER_LINEAR)
                labels = resize_short_side(labels, max_short_side, cv2.INTER_NEAREST)
                ok, buf = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, 95])
                write_bytes_atomic(out_img, buf.tobytes())
            else:
                os.makedirs(osp.dirname(out_img), exist_ok=True)
                shutil.copyfile(img['path'], out_img)
            write_label_map(osp.join(out_dir, 'annotations', split, f'{stem}.png'), labels)
            n += 1
        written[split] = n
    vocab_file = osp.join(out_dir, f'{VOCABULARY_NAME}.txt')
    write_vocabulary_file(vocab_file, [objectnames[c - 1] for c in vocab])
    write_json_atomic(
        osp.join(out_dir, f'{VOCABULARY_NAME}_classes.json'),
        [{'index': i, 'ade_index': c, 'name': objectnames[c - 1],
          'training_images': presence['training'][c],
          'validation_images': presence['validation'][c]} for i, c in enumerate(vocab)],
        indent=1)
    return {'num_classes': len(vocab), 'vocabulary': vocab_file, 'images': written}
