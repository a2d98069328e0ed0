"""Vectorised drawing of the synthetic world: procedural stuff textures and shape masks.

Every function takes a :class:`numpy.random.Generator`, so a picture depends only on the seed
it was drawn from. Images are RGB ``uint8`` arrays of shape ``(h, w, 3)``; masks are ``uint8``
arrays of shape ``(h, w)`` holding 0 or 1.
"""
import math
from typing import Callable, Dict

import cv2
import numpy as np

_SUBPIXEL_BITS = 4  # cv2.fillPoly `shift`: vertices are given in 1/16 pixel


def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Low-frequency noise in ``[0, 1]``: a ``cells x cells`` random grid resized to ``(h, w)``."""
    grid = rng.random((cells, cells), dtype=np.float32)
    return np.clip(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def _coords(h: int, w: int):
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    return ys, xs


def _sky(rng, h, w):
    ys, _ = _coords(h, w)
    t = ys / max(h - 1, 1)
    top = np.array([80, 140, 225], np.float32)
    bottom = np.array([170, 210, 250], np.float32)
    img = top * (1 - t[..., None]) + bottom * t[..., None]
    img = np.broadcast_to(img, (h, w, 3))
    cloud = np.clip((smooth_noise(rng, h, w, int(rng.integers(3, 7))) - 0.55) * 4, 0, 1)
    return img * (1 - cloud[..., None]) + 245.0 * cloud[..., None]


def _grass(rng, h, w):
    streak = cv2.resize(rng.random((max(h // 6, 2), w), dtype=np.float32), (w, h),
                        interpolation=cv2.INTER_LINEAR)
    tint = smooth_noise(rng, h, w, 4)
    base = np.array([55, 135, 45], np.float32)
    dry = np.array([120, 150, 50], np.float32)
    img = base * (1 - 0.5 * tint[..., None]) + dry * 0.5 * tint[..., None]
    return img * (0.7 + 0.45 * streak[..., None]) + rng.normal(0, 6, (h, w, 1))


def _water(rng, h, w):
    ys, xs = _coords(h, w)
    period = max(h / 12.0, 3.0)
    warp = smooth_noise(rng, h, w, 4)
    wave = np.sin(2 * np.pi * (ys / period + 1.5 * warp + xs / (7 * period)))
    base = np.array([30, 95, 165], np.float32)
    img = base + 25 * wave[..., None]
    glint = np.clip((wave - 0.85) * 6, 0, 1)
    return img * (1 - glint[..., None]) + 210.0 * glint[..., None]


def _sand(rng, h, w):
    ys, xs = _coords(h, w)
    angle = rng.uniform(0, np.pi)
    period = max(h / 16.0, 2.5)
    ripple = np.sin(2 * np.pi * (xs * math.cos(angle) + ys * math.sin(angle)) / period)
    base = np.array([215, 190, 140], np.float32)
    return base + 10 * ripple[..., None] + rng.normal(0, 9, (h, w, 1))


def _brick(rng, h, w):
    ys, xs = _coords(h, w)
    bh = max(h // 10, 5)
    bw = 2 * bh
    mortar_px = max(bh // 6, 1)
    row = (ys // bh).astype(np.int64)
    shifted = xs + (row % 2) * (bw // 2)
    col = (shifted // bw).astype(np.int64)
    n_rows, n_cols = h // bh + 2, w // bw + 3
    shade = rng.normal(0, 14, (n_rows, n_cols)).astype(np.float32)
    brick = np.array([165, 65, 45], np.float32) + shade[row, col][..., None]
    mortar = ((ys % bh) < mortar_px) | ((shifted % bw) < mortar_px)
    img = np.where(mortar[..., None], np.array([195, 190, 180], np.float32), brick)
    return img + rng.normal(0, 5, (h, w, 1))


def _snow(rng, h, w):
    shade = smooth_noise(rng, h, w, 5)
    base = np.array([242, 244, 250], np.float32)
    blue = np.array([205, 220, 245], np.float32)
    img = base * (1 - 0.6 * shade[..., None]) + blue * 0.6 * shade[..., None]
    return img + rng.normal(0, 4, (h, w, 1))


def _wood(rng, h, w):
    ys, xs = _coords(h, w)
    plank = max(w // 4, 6)
    warp = smooth_noise(rng, h, w, 3)
    grain = np.sin(2 * np.pi * (xs / max(w / 24.0, 2.0) + 3 * warp + ys / (4.0 * h)))
    base = np.array([150, 100, 55], np.float32)
    img = base + 18 * grain[..., None]
    seam = (xs % plank) < 1
    return np.where(seam[..., None], np.array([90, 55, 30], np.float32), img)


#: Stuff name -> function ``(rng, h, w) -> float image (h, w, 3)`` drawing its texture.
TEXTURES: Dict[str, Callable] = {
    'sky': _sky,
    'grass': _grass,
    'water': _water,
    'sand': _sand,
    'brick': _brick,
    'snow': _snow,
    'wood': _wood,
}


def draw_texture(name: str, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Draw the texture of stuff class ``name`` over a whole ``(h, w)`` canvas.

    Returns:
        np.ndarray: float32 RGB image of shape ``(h, w, 3)`` (not yet clipped to 0..255).
    """
    return np.asarray(TEXTURES[name](rng, h, w), dtype=np.float32)


def _regular_polygon(n: int, r: float, start: float) -> np.ndarray:
    a = start + 2 * np.pi * np.arange(n) / n
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def _star(r: float) -> np.ndarray:
    a = -np.pi / 2 + np.pi * np.arange(10) / 5
    radius = np.where(np.arange(10) % 2 == 0, r, 0.45 * r)
    return np.stack([radius * np.cos(a), radius * np.sin(a)], axis=1)


def _cross(r: float) -> np.ndarray:
    a, b = 0.33 * r, r
    return np.array([(-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a), (a, b), (-a, b),
                     (-a, a), (-b, a), (-b, -a), (-a, -a)], np.float64)


def _heart(r: float) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    x = 16 * np.sin(t)**3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y + 2.5], axis=1) * (r / 17.0)


#: Thing name -> (outline at radius r centred on 0 or None for circles, max rotation in degrees).
_POLYGONS = {
    'square': (lambda r: _regular_polygon(4, r, np.pi / 4), 20.0),
    'triangle': (lambda r: _regular_polygon(3, r, -np.pi / 2), 180.0),
    'star': (_star, 36.0),
    'hexagon': (lambda r: _regular_polygon(6, r, 0.0), 30.0),
    'cross': (_cross, 20.0),
    'heart': (_heart, 20.0),
    'diamond': (lambda r: np.array([(0, -r), (0.6 * r, 0), (0, r), (-0.6 * r, 0)]), 15.0),
}


def _fill_polygon(mask: np.ndarray, points: np.ndarray) -> None:
    pts = np.round(points * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)


def _disc(mask: np.ndarray, cx: float, cy: float, r: float, value: int) -> None:
    scale = 1 << _SUBPIXEL_BITS
    cv2.circle(mask, (int(round(cx * scale)), int(round(cy * scale))), int(round(r * scale)),
               value, -1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)


def shape_mask(shape: str, h: int, w: int, cx: float, cy: float, r: float,
               angle: float) -> np.ndarray:
    """Rasterise one thing.

    Args:
        shape (str): A name of ``THING_CLASSES``.
        h (int): Canvas height.
        w (int): Canvas width.
        cx (float): Centre x in pixels.
        cy (float): Centre y in pixels.
        r (float): Outer radius in pixels.
        angle (float): Rotation in ``[-1, 1]``, scaled by the shape's allowed rotation (small for
            shapes that would turn into another shape, e.g. a square into a diamond).

    Returns:
        np.ndarray: uint8 mask ``(h, w)`` with 1 inside the shape.
    """
    mask = np.zeros((h, w), np.uint8)
    if shape == 'circle':
        _disc(mask, cx, cy, r, 1)
    elif shape == 'ring':
        _disc(mask, cx, cy, r, 1)
        _disc(mask, cx, cy, 0.55 * r, 0)
    elif shape == 'crescent':
        _disc(mask, cx, cy, r, 1)
        theta = np.pi * angle
        _disc(mask, cx + 0.45 * r * math.cos(theta), cy + 0.45 * r * math.sin(theta), 0.85 * r, 0)
    elif shape in _POLYGONS:
        outline, max_deg = _POLYGONS[shape]
        theta = math.radians(max_deg * angle)
        rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        _fill_polygon(mask, outline(r) @ rot.T + np.array([cx, cy]))
    else:
        raise ValueError(f'unknown shape {shape!r}; known shapes: circle, ring, crescent, '
                         f'{", ".join(_POLYGONS)}')
    return mask
