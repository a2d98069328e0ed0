"""Training-free dense segmentation: each pixel takes its nearest class embedding; mIoU."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmseg.evaluation.metrics import IoUMetric

from umg_mm.registry import METRICS
from .zero_shot_classes import ClassSplit, VocabularySpec


@METRICS.register_module()
class DenseZeroShotIoUMetric(BaseMetric):
    """mIoU (%) of ``pred_sem_seg`` (each pixel's most similar class, from the dense embeddings
    with no segmentation training) against the ground-truth segments.

    The ground-truth map is drawn from ``gt_segments``: each mask gets the class of its first tag
    found in the vocabulary; pixels under no mask, or under a mask without such a tag, are
    ignored. Areas and IoUs are mmseg's (``IoUMetric.intersect_and_union`` and
    ``total_area_to_metrics``): a class that is neither in the ground truth nor predicted has no
    IoU and is left out of the means.

    Args:
        vocabulary: the model's vocabulary.
        seen_classes: the training classes: adds ``mIoU_seen`` / ``mIoU_held_out`` (means
            over the classes of ``vocabulary`` in / not in them).
    """
    default_prefix = 'dense'

    def __init__(self, vocabulary: VocabularySpec, seen_classes: Optional[VocabularySpec] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.split = ClassSplit(vocabulary, seen_classes)
        self.ignore_index = 255 if len(self.split) < 255 else len(self.split)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = torch.as_tensor(sample['pred_sem_seg']['data'])[0].cpu()
            height, width = pred.shape
            label = torch.full((height, width), self.ignore_index, dtype=torch.long)
            segments = sample['gt_segments']
            for mask, tags in zip(segments['masks'], segments['tags']):
                value = self.split.label(tags)
                label[torch.as_tensor(mask)[:height, :width].cpu().bool()] = \
                    value if value >= 0 else self.ignore_index
            self.results.append(IoUMetric.intersect_and_union(
                pred, label, len(self.split), self.ignore_index))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        areas = [sum(r[i] for r in results) for i in range(4)]
        iou = IoUMetric.total_area_to_metrics(*areas, metrics=['mIoU'])['IoU']
        metrics = {'mIoU': float(np.nanmean(iou) * 100) if not np.isnan(iou).all()
                   else float('nan')}
        if self.split.has_split:
            for suffix, classes in (('_seen', ~self.split.held_out),
                                    ('_held_out', self.split.held_out)):
                values = iou[classes]
                metrics[f'mIoU{suffix}'] = float(np.nanmean(values) * 100) \
                    if not np.isnan(values).all() else float('nan')
        return metrics
