"""Pixels shared by the release fixtures: label layouts, images painted from them, JPEG quirks.

Every fixture image is painted from its label map (one colour per class, a little noise), so a
model or a metric can tell classes apart, and is written the way real releases store them: RGB
JPEG, some grayscale (COCO holds a few hundred), one stored turned with an EXIF orientation tag
that says how to turn it upright (as phone photos are): its annotations are in the upright frame,
the frame OpenCV's and Pillow's loaders (and so mmcv's) decode it to.
"""
from pathlib import Path
from typing import Dict, Sequence, Tuple

import numpy as np
from PIL import Image

Box = Tuple[int, int, int, int]  # y0, y1, x0, x1


def layout(shape: Tuple[int, int], bands: Sequence[Tuple[int, int, int]],
           boxes: Sequence[Tuple[int, Box]] = (), fill: int = 0) -> np.ndarray:
    """An int64 ``(h, w)`` class map: horizontal ``(class, y0, y1)`` bands, then
    ``(class, (y0, y1, x0, x1))`` boxes painted over them; other pixels are ``fill``."""
    labels = np.full(shape, fill, np.int64)
    for cls, y0, y1 in bands:
        labels[y0:y1] = cls
    for cls, (y0, y1, x0, x1) in boxes:
        labels[y0:y1, x0:x1] = cls
    return labels


def paint(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """An RGB uint8 image of ``labels`` (``(h, w)`` ints): a fixed colour per value plus noise."""
    values = labels.astype(np.int64)
    colour = np.stack([(values * 67 + 40) % 256, (values * 131 + 90) % 256,
                       (values * 29 + 160) % 256], -1)
    noise = np.random.default_rng(seed).integers(-6, 7, colour.shape)
    return np.clip(colour + noise, 0, 255).astype(np.uint8)


#: EXIF orientation -> quarter turns (counter-clockwise) from upright to the stored pixels
STORED_TURNS = {1: 0, 3: 2, 6: 1, 8: 3}


def write_jpeg(path: Path, rgb: np.ndarray, gray: bool = False, exif_orientation: int = 0):
    """Save the upright ``rgb`` (``(h, w, 3)`` uint8) as a JPEG as releases do: ``gray`` stores
    one channel (mode L); ``exif_orientation`` (1, 3, 6 or 8) stores the pixels turned and tags
    them with that EXIF Orientation, which turns them back upright when decoded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.ascontiguousarray(
        np.rot90(rgb, STORED_TURNS[exif_orientation]) if exif_orientation else rgb))
    if gray:
        image = image.convert('L')
    kwargs = {'quality': 95}
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs['exif'] = exif.tobytes()
    image.save(path, 'JPEG', **kwargs)


def write_png(path: Path, array: np.ndarray, palette: Sequence[int] = ()):
    """Save a label map or an RGB image as PNG: ``uint8``/``uint16`` ``(h, w)`` keep their bit
    depth (mode L / I;16); a ``palette`` (flat RGB list) makes a palette PNG (mode P)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.ndim == 2 and array.dtype == np.uint16:
        image = Image.fromarray(array, mode='I;16')
    else:
        image = Image.fromarray(array)
    if palette:
        image.putpalette(list(palette))  # an L image becomes P with the same indices
    image.save(path, 'PNG')


def present(labels: np.ndarray, ignore: Sequence[int]) -> Dict[int, int]:
    """``{value: pixel count}`` of ``labels`` without the ``ignore`` values."""
    values, counts = np.unique(labels, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts) if v not in ignore}
