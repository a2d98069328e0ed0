"""Sampling and rendering one scene of the synthetic world.

A scene is a background split into 1-3 stuff bands (with wavy borders) and 1-3 things placed so
that they overlap little. Rendering returns the RGB image, the visible mask of every thing and the
band index of every pixel; occluded parts belong to the object in front.
"""
import math
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from .categories import COLOURS, SIZES, STUFF_CLASSES, THING_CLASSES
from .drawing import draw_texture, shape_mask

_MAX_PLACEMENT_TRIES = 30
_MAX_OVERLAP = 0.2  # of the smaller box's area
_MIN_VISIBLE_FRACTION = 0.3


@dataclass
class Thing:
    """One shape to draw: its class and attributes, and its placement in pixels."""
    shape: str
    colour: str
    size: str
    cx: float
    cy: float
    radius: float
    angle: float  # in [-1, 1], see :func:`shape_mask`

    @property
    def extent(self) -> Tuple[float, float, float, float]:
        """The box ``xyxy`` of the circle the shape is drawn in."""
        return (self.cx - self.radius, self.cy - self.radius, self.cx + self.radius,
                self.cy + self.radius)


@dataclass
class Scene:
    """A sampled scene: stuff layout (``'single'``, ``'horizontal'``, ``'vertical'``), the stuff
    class of each band (top to bottom or left to right), the band borders and the things."""
    layout: str
    stuff: List[str]
    borders: List[Tuple[float, float, float, float]]  # (position, amplitude, cycles, phase)
    things: List[Thing]


def _overlap(a, b) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / smaller


def sample_scene(rng: np.random.Generator, h: int, w: int, min_things: int,
                 max_things: int) -> Scene:
    """Draw the layout and the things of one image (no pixels yet).

    Args:
        rng (np.random.Generator): The image's random stream.
        h (int): Image height.
        w (int): Image width.
        min_things (int): Fewest things to try to place.
        max_things (int): Most things to try to place (a thing that finds no free spot in
            30 tries is left out, so crowded small images may hold fewer).
    """
    n_stuff = int(rng.choice([1, 2, 3], p=[0.2, 0.5, 0.3]))
    if n_stuff == 1:
        layout = 'single'
        stuff = [str(rng.choice(STUFF_CLASSES))]
    elif rng.random() < 0.6:
        layout = 'horizontal'
        stuff = [str(s) for s in rng.choice(STUFF_CLASSES, n_stuff, replace=False)]
        if 'sky' in stuff:  # the sky is always on top
            stuff.remove('sky')
            stuff.insert(0, 'sky')
    else:
        layout = 'vertical'
        ground = [s for s in STUFF_CLASSES if s != 'sky']
        stuff = [str(s) for s in rng.choice(ground, n_stuff, replace=False)]
    ranges = {1: [], 2: [(0.35, 0.65)], 3: [(0.22, 0.4), (0.6, 0.78)]}[n_stuff]
    borders = [(rng.uniform(lo, hi), rng.uniform(0.0, 0.06), rng.uniform(0.5, 2.0),
                rng.uniform(0, 2 * np.pi)) for lo, hi in ranges]

    things: List[Thing] = []
    short_side = min(h, w)
    for _ in range(int(rng.integers(min_things, max_things + 1))):
        shape = str(rng.choice(THING_CLASSES))
        colour = str(rng.choice(list(COLOURS)))
        size = str(rng.choice(list(SIZES)))
        radius = rng.uniform(*SIZES[size]) * short_side
        angle = rng.uniform(-1, 1)
        for _ in range(_MAX_PLACEMENT_TRIES):
            cand = Thing(shape, colour, size, rng.uniform(radius, w - radius),
                         rng.uniform(radius, h - radius), radius, angle)
            if all(_overlap(cand.extent, t.extent) < _MAX_OVERLAP for t in things):
                things.append(cand)
                break
    return Scene(layout, stuff, borders, things)


def band_index(scene: Scene, h: int, w: int) -> np.ndarray:
    """The stuff band of every pixel.

    Returns:
        np.ndarray: int64 ``(h, w)`` with values in ``0 .. len(scene.stuff) - 1``.
    """
    index = np.zeros((h, w), np.int64)
    if scene.layout == 'single':
        return index
    along, across = (w, h) if scene.layout == 'horizontal' else (h, w)
    t = np.arange(along, dtype=np.float64) / along
    pos = np.arange(across, dtype=np.float64)[:, None]
    for position, amplitude, cycles, phase in scene.borders:
        border = (position + amplitude * np.sin(2 * np.pi * cycles * t + phase)) * across
        index += pos >= border[None, :]
    return index if scene.layout == 'horizontal' else index.T


def render_scene(scene: Scene, rng: np.random.Generator, h: int,
                 w: int) -> Tuple[np.ndarray, np.ndarray, List[Thing], List[np.ndarray]]:
    """Paint a scene.

    Args:
        scene (Scene): From :func:`sample_scene`.
        rng (np.random.Generator): The image's random stream (textures, paint noise).
        h (int): Image height.
        w (int): Image width.

    Returns:
        tuple: ``image`` (uint8 RGB ``(h, w, 3)``), ``bands`` (int64 ``(h, w)``, stuff band of
        each pixel, -1 where a thing covers it), the things kept (those with at least 30% of
        their shape visible and at least 12 pixels) and their visible masks (bool ``(h, w)``).
    """
    bands = band_index(scene, h, w)
    image = np.empty((h, w, 3), np.float32)
    for k, name in enumerate(scene.stuff):
        region = bands == k
        image[region] = draw_texture(name, rng, h, w)[region]
    owner = np.full((h, w), -1, np.int64)
    full_areas = []
    for j, thing in enumerate(scene.things):
        mask = shape_mask(thing.shape, h, w, thing.cx, thing.cy, thing.radius,
                          thing.angle).astype(bool)
        paint = np.array(COLOURS[thing.colour], np.float32) + rng.normal(0, 8, 3)
        image[mask] = paint
        owner[mask] = j
        full_areas.append(int(mask.sum()))
    image += rng.normal(0, 3, (h, w, 1)).astype(np.float32)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)

    kept, masks = [], []
    for j, thing in enumerate(scene.things):
        visible = owner == j
        area = int(visible.sum())
        if area >= max(12, math.ceil(_MIN_VISIBLE_FRACTION * full_areas[j])):
            kept.append(thing)
            masks.append(visible)
    # The visible pixels of a thing too hidden to annotate stay unlabeled (band -1).
    bands = np.where(owner >= 0, -1, bands)
    return image, bands, kept, masks
