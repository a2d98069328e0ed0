"""The one drawing path of umg_mm's pictures: regions (masks or boxes) with class names over an
image, for every task, the inferencer, ``tools/demo.py``, the web demo and ``--show-dir`` alike.

- small images are enlarged by a whole factor first (:func:`upscale_factor`; the synthetic
  world's 64-128 px images become 512 px), masks with nearest-neighbour so edges stay exact;
- each region is tinted with its class colour and outlined;
- names are drawn with :class:`~umg_mm.visualization.fonts.FontChain` (any script), on the
  region's most interior point (boxes: their top-left corner); when two labels would overlap
  or leave the picture, no label is drawn on the image and a legend beside it lists each class
  with its colour and area instead (:func:`legend_entries`).

Pictures are RGB ``uint8`` arrays ``(H, W, 3)``.
"""
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .fonts import FontChain, default_chain

Color = Tuple[int, int, int]
#: pictures whose longer side is below this are enlarged by a whole factor to reach it
MIN_SIZE = 512
ALPHA = 0.55
PANEL_BACKGROUND = (255, 255, 255)
PANEL_TEXT = (20, 20, 20)


@dataclass
class Region:
    """One thing to draw: a mask and/or a box, its class name and colour.

    Attributes:
        name: the class name (any script).
        color: RGB class colour.
        mask: ``(H, W)`` bool at the image's size, or ``None``.
        box: ``x1, y1, x2, y2`` in image pixels, or ``None``.
        score: a confidence drawn after the name, or ``None``.
    """
    name: str
    color: Color
    mask: Optional[np.ndarray] = None
    box: Optional[Sequence[float]] = None
    score: Optional[float] = None

    @property
    def label(self) -> str:
        return self.name if self.score is None else f'{self.name} {self.score:.2f}'


def upscale_factor(height: int, width: int, min_size: int = MIN_SIZE) -> int:
    """The whole factor that brings the longer side to at least ``min_size`` (1: big enough)."""
    return max(1, math.ceil(min_size / max(height, width, 1)))


def font_size(height: int, width: int) -> int:
    """Label size in pixels for a picture of this size: 1/28 of its shorter side, 12 to 28."""
    return int(min(28, max(12, min(height, width) // 28)))


def legend_entries(regions: Sequence[Region], image_area: int) -> List[dict]:
    """One entry per class present: ``name``, ``color`` (RGB), ``hex``, ``area`` (pixels of its
    masks, 0 for boxes only), ``fraction`` of the image, ``count`` of regions; largest first."""
    by_name = {}
    for region in regions:
        entry = by_name.setdefault(region.name, dict(name=region.name, color=tuple(region.color),
                                                     area=0, count=0))
        entry['count'] += 1
        if region.mask is not None:
            entry['area'] += int(region.mask.sum())
    entries = sorted(by_name.values(), key=lambda e: (-e['area'], e['name']))
    for entry in entries:
        entry['hex'] = '#{:02x}{:02x}{:02x}'.format(*entry['color'])
        entry['fraction'] = entry['area'] / max(image_area, 1)
    return entries


def draw_regions(image: np.ndarray, regions: Sequence[Region], min_size: int = MIN_SIZE,
                 legend: bool = False) -> np.ndarray:
    """Regions over ``image``, named on the image or in a legend beside it.

    Args:
        image: ``(H, W, 3)`` RGB uint8.
        regions: what to draw; masks at ``(H, W)``, boxes in image pixels.
        min_size: enlarge small images until their longer side reaches this.
        legend: always a legend; by default labels on the image unless two would overlap or
            one would leave the picture.

    Returns:
        ``(H', W', 3)`` RGB: the image enlarged by :func:`upscale_factor`, plus the legend's
        width when there is one.
    """
    height, width = image.shape[:2]
    factor = upscale_factor(height, width, min_size)
    canvas = cv2.resize(image, (width * factor, height * factor),
                        interpolation=cv2.INTER_CUBIC) if factor > 1 else image.copy()
    overlay = canvas.astype(np.float32)
    outlines = []
    for region in regions:
        if region.mask is None:
            continue
        mask = _resized_mask(region.mask, height, width, factor)
        overlay[mask] = (1 - ALPHA) * overlay[mask] + ALPHA * np.array(region.color, np.float32)
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        outlines.append((contours, region.color))
    canvas = overlay.round().clip(0, 255).astype(np.uint8)
    for contours, color in outlines:
        cv2.drawContours(canvas, contours, -1, _darker(color), max(1, factor // 4))
    for region in regions:
        if region.box is not None:
            x1, y1, x2, y2 = (int(round(v * factor)) for v in region.box)
            cv2.rectangle(canvas, (x1, y1), (x2, y2), tuple(int(c) for c in region.color),
                          max(2, factor // 2))
    chain = default_chain(font_size(*canvas.shape[:2]))
    placed = None if legend else _place_labels(regions, height, width, factor, chain)
    if placed is None:
        return legend_panel(canvas, legend_entries(regions, height * width), chain)
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    for (x1, y1, x2, y2), region in placed:
        draw.rectangle((x1, y1, x2, y2), fill=_darker(region.color))
        chain.draw(draw, (x1 + _PAD, y1 + _PAD), region.label, fill=(255, 255, 255))
    return np.asarray(picture)


def text_panel(image: np.ndarray, lines: Sequence[str], min_size: int = MIN_SIZE) -> np.ndarray:
    """``image`` enlarged, with ``lines`` of text (best classes, texts with scores) beside it."""
    height, width = image.shape[:2]
    factor = upscale_factor(height, width, min_size)
    canvas = cv2.resize(image, (width * factor, height * factor),
                        interpolation=cv2.INTER_CUBIC) if factor > 1 else image.copy()
    chain = default_chain(font_size(*canvas.shape[:2]))
    return _panel(canvas, [(None, line) for line in lines], chain)


def legend_panel(canvas: np.ndarray, entries: Sequence[dict],
                 chain: Optional[FontChain] = None) -> np.ndarray:
    """``canvas`` with a legend beside it: per entry a colour swatch, the name and its area (%
    of the image) when it has one."""
    chain = chain or default_chain(font_size(*canvas.shape[:2]))
    rows = [(e['color'], e['name'] + (f'  {100 * e["fraction"]:.1f}%' if e['area'] else ''))
            for e in entries]
    return _panel(canvas, rows, chain)


def side_by_side(pictures: Sequence[np.ndarray],
                 titles: Optional[Sequence[str]] = None) -> np.ndarray:
    """Pictures in a row (white below the shorter ones), each under its title if given."""
    if titles is not None:
        chain = default_chain(font_size(*pictures[0].shape[:2]))
        pictures = [_titled(p, t, chain) for p, t in zip(pictures, titles)]
    height = max(p.shape[0] for p in pictures)
    padded = [np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0)), constant_values=255)
              for p in pictures]
    gap = np.full((height, 8, 3), 255, np.uint8)
    row = [padded[0]]
    for picture in padded[1:]:
        row += [gap, picture]
    return np.concatenate(row, axis=1)


# ---------------------------------------------------------------------------- helpers
_PAD = 3


def _resized_mask(mask: np.ndarray, height: int, width: int, factor: int) -> np.ndarray:
    """``mask`` (any size) as bool at ``(height * factor, width * factor)``, nearest."""
    mask = np.asarray(mask).astype(np.uint8)
    return cv2.resize(mask, (width * factor, height * factor),
                      interpolation=cv2.INTER_NEAREST).astype(bool)


def _darker(color: Sequence[int]) -> Color:
    return tuple(int(c * 0.6) for c in color)


def _anchor(region: Region, height: int, width: int) -> Optional[Tuple[float, float]]:
    """Where a region's label goes, in image pixels: its mask's most interior point (centre of
    the label), or its box's top-left corner."""
    if region.mask is not None:
        mask = _resized_mask(region.mask, height, width, 1)
        if not mask.any():
            return None
        distance = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)
        # of the most interior points (within 10% of the deepest), the one nearest the centroid
        ys, xs = np.nonzero(distance >= 0.9 * distance.max())
        centre_y, centre_x = (np.argwhere(mask).mean(axis=0) + 1)
        best = int(np.argmin((ys - centre_y) ** 2 + (xs - centre_x) ** 2))
        return xs[best] - 0.5, ys[best] - 0.5
    if region.box is not None:
        return float(region.box[0]), float(region.box[1])
    return None


def _place_labels(regions: Sequence[Region], height: int, width: int, factor: int,
                  chain: FontChain) -> Optional[list]:
    """Label rectangles ``(x1, y1, x2, y2)`` with their region, or ``None`` if any two overlap
    or one leaves the picture."""
    placed = []
    for region in regions:
        anchor = _anchor(region, height, width)
        if anchor is None:
            continue
        text_w, text_h = chain.text_size(region.label)
        w, h = text_w + 2 * _PAD, text_h + 2 * _PAD
        x, y = anchor[0] * factor, anchor[1] * factor
        if region.mask is not None:  # centred on the interior point
            x, y = x - w / 2, y - h / 2
        rect = (int(x), int(y), int(x) + w, int(y) + h)
        inside = rect[0] >= 0 and rect[1] >= 0 and rect[2] <= width * factor \
            and rect[3] <= height * factor
        if not inside or any(_overlap(rect, other) for other, _ in placed):
            return None
        placed.append((rect, region))
    return placed


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _panel(canvas: np.ndarray, rows: Sequence[Tuple[Optional[Color], str]],
           chain: FontChain) -> np.ndarray:
    """``canvas`` with a white panel on its right listing ``rows`` (swatch colour or None,
    text), in as many columns as the canvas's height needs."""
    line = chain.line_height + 2 * _PAD
    swatch = chain.line_height
    per_column = max(1, (canvas.shape[0] - 2 * _PAD) // line)
    columns = [rows[i:i + per_column] for i in range(0, len(rows), per_column)] or [[]]
    widths = [max((chain.text_size(text)[0] + (swatch + 2 * _PAD if color else 0)
                   for color, text in column), default=0) + 4 * _PAD for column in columns]
    height = max(canvas.shape[0], min(len(rows), per_column) * line + 2 * _PAD)
    picture = Image.new('RGB', (canvas.shape[1] + sum(widths), height), PANEL_BACKGROUND)
    picture.paste(Image.fromarray(canvas), (0, 0))
    draw = ImageDraw.Draw(picture)
    left = canvas.shape[1]
    for column, width in zip(columns, widths):
        for i, (color, text) in enumerate(column):
            x, y = left + 2 * _PAD, 2 * _PAD + i * line
            if color is not None:
                draw.rectangle((x, y, x + swatch, y + swatch), fill=tuple(color),
                               outline=_darker(color))
                x += swatch + 2 * _PAD
            chain.draw(draw, (x, y), text, fill=PANEL_TEXT)
        left += width
    return np.asarray(picture)


def _titled(picture: np.ndarray, title: str, chain: FontChain) -> np.ndarray:
    """``picture`` under a white strip holding ``title``."""
    strip = Image.new('RGB', (picture.shape[1], chain.line_height + 2 * _PAD), PANEL_BACKGROUND)
    chain.draw(ImageDraw.Draw(strip), (_PAD, _PAD), title, fill=PANEL_TEXT)
    return np.concatenate([np.asarray(strip), picture], axis=0)
