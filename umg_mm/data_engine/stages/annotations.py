"""Regions and segments of UMG records from model outputs (any detector's boxes, any panoptic
model's id map), with their provenance."""
from typing import List, Optional, Sequence

import numpy as np
import torch

from umg_mm.apis.results import panoptic_result
from umg_mm.datasets.mask_rle import encode_rle
from ..sample import EngineSample, add_text, provenance


def add_regions(sample: EngineSample, boxes: np.ndarray, scores: np.ndarray,
                names: Sequence[str], stage: str, model: str, score_thr: float) -> None:
    """Add a region per box scoring at least ``score_thr``, tagged with its class name.

    Args:
        boxes: ``(N, 4)`` ``x1, y1, x2, y2`` in image pixels (clipped to the image here).
        scores: ``(N,)`` detection scores.
        names: ``N`` class names.
    """
    size = np.array([sample.width, sample.height] * 2, dtype=np.float64)
    for box, score, name in zip(np.asarray(boxes, np.float64), scores, names):
        if score < score_thr:
            continue
        box = np.clip(box, 0, size).round(2)
        if box[2] <= box[0] or box[3] <= box[1]:
            continue  # empty after clipping (or an empty mask's box)
        origin = provenance(stage, model, score)
        region = dict(bbox=box.tolist(), extra=dict(origin))
        add_text(region, 'tags', name, origin)
        sample.record['regions'].append(region)


def add_segments(sample: EngineSample, id_map: np.ndarray, classes: Sequence[str],
                 num_things: int, stage: str, model: str, min_area: int = 1,
                 thing_scores: Optional[List[tuple]] = None) -> None:
    """Add a segment per segment of a panoptic id map (void left out).

    Args:
        id_map: ``(H, W)`` ids as mmdet's fusion head writes them (``label + instance *
            INSTANCE_OFFSET``, ``len(classes)`` void), at the image's size.
        classes: class names, things first; ``num_things`` of them are things.
        min_area: segments of fewer pixels are left out.
        thing_scores: ``(label, mask (H, W) bool, score)`` of the model's instance predictions:
            a thing segment takes the score of the same-class instance it overlaps most
            (``None``: segments get no score).
    """
    if id_map.shape != (sample.height, sample.width):
        raise ValueError(f'{stage}: a panoptic map of shape {id_map.shape} for image '
                         f'{sample.item.file_name} of {sample.height}x{sample.width}')
    segments = panoptic_result(torch.from_numpy(id_map), classes, num_things)['segments']
    for segment in segments:
        if segment['area'] < min_area:
            continue
        mask = id_map == segment['id']
        score = _best_overlap_score(mask, segment['label'], thing_scores or []) \
            if segment['isthing'] else None
        origin = provenance(stage, model, score)
        entry = dict(segmentation=encode_rle(mask), isthing=bool(segment['isthing']),
                     extra=dict(origin, area=int(segment['area'])))
        add_text(entry, 'tags', segment['name'], origin)
        sample.record['segments'].append(entry)


def _best_overlap_score(mask: np.ndarray, label: int, instances: List[tuple]) -> Optional[float]:
    best, score = 0., None
    for inst_label, inst_mask, inst_score in instances:
        if inst_label != label:
            continue
        union = np.logical_or(mask, inst_mask).sum()
        iou = np.logical_and(mask, inst_mask).sum() / union if union else 0.
        if iou > best:
            best, score = iou, inst_score
    return score
