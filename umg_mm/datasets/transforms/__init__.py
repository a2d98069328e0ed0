"""Transforms of UMG samples: loading (image, boxes, masks, texts), text, packing; and the loading
of 16-bit label maps (ADE20K-847, Pascal Context-459) that mmseg's ``LoadAnnotations`` truncates.

Geometric and colour augmentation reuse mmdet's transforms (``Resize``, ``RandomFlip``,
``RandomCrop``, ``Pad``, ``PhotoMetricDistortion``, ``FilterAnnotations``), which keep the UMG
instances aligned (see :class:`LoadUMGAnnotations`). :class:`LoadWideSegAnnotations` reads
16-bit semantic label maps (ADE20K-847, Pascal Context-459) for mmseg pipelines;
:class:`CheckSegLabels` rejects label values that name no class.
"""
from .formatting import PackUMGInputs
from .loading import LoadUMGAnnotations, LoadUMGImage
from .seg_label_check import CheckSegLabels
from .text import SwapLeftRightOnFlip, swap_left_right
from .wide_label_loading import LoadWideSegAnnotations

__all__ = [
    'CheckSegLabels', 'LoadUMGAnnotations', 'LoadUMGImage', 'LoadWideSegAnnotations',
    'PackUMGInputs', 'SwapLeftRightOnFlip', 'swap_left_right'
]
