"""Transforms of UMG samples: loading (image, boxes, masks, texts), text, packing.

Geometric and colour augmentation reuse mmdet's transforms (``Resize``, ``RandomFlip``,
``RandomCrop``, ``Pad``, ``PhotoMetricDistortion``, ``FilterAnnotations``), which keep the UMG
instances aligned (see :class:`LoadUMGAnnotations`).
"""
from .formatting import PackUMGInputs
from .loading import LoadUMGAnnotations, LoadUMGImage
from .text import SwapLeftRightOnFlip, swap_left_right
from .wide_label_loading import LoadWideSegAnnotations

__all__ = [
    'LoadUMGAnnotations', 'LoadUMGImage', 'PackUMGInputs', 'SwapLeftRightOnFlip',
    'swap_left_right', 'LoadWideSegAnnotations'
]
