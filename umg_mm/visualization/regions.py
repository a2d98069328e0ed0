"""Regions to draw (:class:`~umg_mm.visualization.picture.Region`) from label maps, panoptic id
maps, instances, and the mmdet / mmseg data samples that hold them."""
from typing import List, Optional, Sequence

import numpy as np
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.visualization.palette import get_palette

from .picture import Region


def class_palette(num_classes: int) -> List[tuple]:
    """One RGB colour per class (mmdet's seeded random palette: the same on every run)."""
    return [tuple(int(c) for c in color) for color in get_palette('random', num_classes)]


def _colors(palette: Optional[Sequence], classes: Sequence[str]) -> List[tuple]:
    """``palette`` if it has a colour per class, else :func:`class_palette`."""
    if palette is not None and len(palette) >= len(classes):
        return [tuple(int(c) for c in color) for color in palette]
    return class_palette(len(classes))


def _numpy(value) -> np.ndarray:
    return value.cpu().numpy() if hasattr(value, 'cpu') else np.asarray(value)


def semantic_regions(label_map, classes: Sequence[str], palette=None) -> List[Region]:
    """One region per class present in ``label_map`` ``(H, W)`` (or ``(1, H, W)``); labels
    outside ``classes`` (ignore, void) are left out."""
    label_map = _numpy(label_map).reshape(_numpy(label_map).shape[-2:])
    colors = _colors(palette, classes)
    return [Region(classes[label], colors[label], mask=label_map == label)
            for label in np.unique(label_map).tolist() if 0 <= label < len(classes)]


def panoptic_regions(id_map, classes: Sequence[str], palette=None) -> List[Region]:
    """One region per segment of an mmdet panoptic id map (``label + instance *
    INSTANCE_OFFSET``; labels outside ``classes`` are void)."""
    id_map = _numpy(id_map).reshape(_numpy(id_map).shape[-2:])
    colors = _colors(palette, classes)
    regions = []
    for segment_id in np.unique(id_map).tolist():
        label = segment_id % INSTANCE_OFFSET
        if 0 <= label < len(classes):
            regions.append(Region(classes[label], colors[label], mask=id_map == segment_id))
    return regions


def instance_regions(labels, classes: Sequence[str], palette=None, bboxes=None, masks=None,
                     scores=None) -> List[Region]:
    """One region per instance: ``labels`` ``(N,)``, ``bboxes`` ``(N, 4)`` (drawn when there are
    no masks), ``masks`` ``(N, H, W)``, ``scores`` ``(N,)`` (shown after the name)."""
    colors = _colors(palette, classes)
    labels = _numpy(labels).astype(int).tolist()
    masks = None if masks is None else _numpy(getattr(masks, 'masks', masks)).astype(bool)
    bboxes = None if bboxes is None else _numpy(bboxes)
    scores = None if scores is None else _numpy(scores).tolist()
    return [Region(classes[label], colors[label],
                   mask=None if masks is None else masks[i],
                   box=None if masks is not None or bboxes is None else bboxes[i].tolist(),
                   score=None if scores is None else scores[i])
            for i, label in enumerate(labels) if 0 <= label < len(classes)]


def sample_regions(sample, which: str, classes: Sequence[str], palette=None,
                   score_thr: float = 0.3) -> Optional[List[Region]]:
    """The regions of a ``SegDataSample`` or ``DetDataSample``'s ground truth or prediction.

    Panoptic id maps first, then instances (predictions with ``score >= score_thr``; ground-truth
    stuff from ``gt_sem_seg`` where no instance mask lies), then semantic label maps.

    Args:
        sample: the data sample.
        which: ``'gt'`` or ``'pred'``.
        classes: the class names in label order.
        palette: RGB per class (default :func:`class_palette`).
        score_thr: predicted instances below this are left out.

    Returns:
        The regions, or ``None`` if the sample holds nothing of ``which`` to draw.
    """
    if which not in ('gt', 'pred'):
        raise ValueError(f'which={which!r}; give "gt" or "pred"')
    if f'{which}_panoptic_seg' in sample:
        return panoptic_regions(sample.get(f'{which}_panoptic_seg').sem_seg, classes, palette)
    semantic = _label_map(sample.get(f'{which}_sem_seg'))
    instances = sample.get(f'{which}_instances')
    if instances is not None and 'labels' in instances:
        if which == 'pred' and 'scores' in instances:
            instances = instances[instances.scores >= score_thr]
        regions = instance_regions(instances.labels, classes, palette,
                                   bboxes=instances.get('bboxes'),
                                   masks=instances.get('masks'),
                                   scores=instances.get('scores'))
        if semantic is not None:
            stuff = semantic.copy()
            for region in regions:
                if region.mask is not None and region.mask.shape == stuff.shape:
                    stuff[region.mask] = -1
            regions = semantic_regions(stuff, classes, palette) + regions
        return regions
    if semantic is not None:
        return semantic_regions(semantic, classes, palette)
    return None


def _label_map(pixel_data) -> Optional[np.ndarray]:
    """The ``(H, W)`` label map of mmseg's ``PixelData(data=...)`` or mmdet's
    ``PixelData(sem_seg=...)``."""
    if pixel_data is None:
        return None
    data = _numpy(pixel_data.data if 'data' in pixel_data else pixel_data.sem_seg)
    return data.reshape(data.shape[-2:]).astype(np.int64)
