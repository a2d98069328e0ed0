"""Helpers shared by the converters: reading source files with clear errors, label-map output."""
import json
import os.path as osp
from typing import Any, Sequence

import cv2
import numpy as np

from umg_mm.utils.atomic_io import write_bytes_atomic

#: Ignore value of the 16-bit label maps written for vocabularies of more than 255 classes.
IGNORE_INDEX_16BIT = 65535


def load_json(path: str, what: str) -> Any:
    """Read a JSON file, raising an error that names it and says what it should be."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'{path} ({what}) is not valid JSON: {e}') from e


def require_keys(obj: dict, keys: Sequence[str], path: str, where: str) -> None:
    """Raise ``KeyError`` naming the file, the record and the missing field."""
    if not isinstance(obj, dict):
        raise ValueError(f'{path}: {where} must be a JSON object, got {type(obj).__name__}')
    for key in keys:
        if key not in obj:
            raise KeyError(f'{path}: {where} has no field {key!r} (fields: {sorted(obj)})')


def read_image(path: str, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Read an image with OpenCV, raising a clear error when it is missing or unreadable.

    Colour images come back in OpenCV's BGR order.
    """
    image = cv2.imread(path, flags)
    if image is None:
        raise FileNotFoundError(f'cannot read image {path} (missing or not an image)')
    return image


def write_label_map(path: str, labels: np.ndarray) -> None:
    """Write an mmseg label map as PNG: 8-bit when every value fits, else 16-bit.

    Args:
        path (str): Destination ``.png``.
        labels (np.ndarray): Integer ``(h, w)`` class indices; the ignore value is 255 for 8-bit
            maps and 65535 for 16-bit maps.
    """
    ok, buf = cv2.imencode('.png', labels)
    if not ok:
        raise RuntimeError(f'OpenCV could not encode the label map for {path}')
    write_bytes_atomic(path, buf.tobytes())


def resize_short_side(image: np.ndarray, max_short_side: int,
                      interpolation: int) -> np.ndarray:
    """Shrink an image so that its shorter side is at most ``max_short_side`` (0: unchanged)."""
    h, w = image.shape[:2]
    if max_short_side <= 0 or min(h, w) <= max_short_side:
        return image
    if h <= w:
        size = (round(w * max_short_side / h), max_short_side)
    else:
        size = (max_short_side, round(h * max_short_side / w))
    return cv2.resize(image, size, interpolation=interpolation)
