"""Zero-shot region recognition: classify ground-truth boxes by their pooled embedding."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from umg_mm.registry import METRICS
from .zero_shot_classes import ClassSplit, VocabularySpec


@METRICS.register_module()
class RegionRecognitionMetric(BaseMetric):
    """Top-1 accuracy and mean per-class accuracy (%) of ``pred_region_scores`` (each ground-truth
    box's RoIAlign-pooled embedding against the class embeddings).

    A region's class is the first of its tags (``gt_instances.tags``) found in the vocabulary;
    regions without one (or, with ``classes``, whose class is not a candidate) are left out.
    ``mean_acc`` averages the accuracy of the classes that have regions.

    Args:
        vocabulary: the model's vocabulary.
        classes: the candidate classes (a subset of ``vocabulary``, e.g. the things of a world
            whose boxes are all things); default: the whole vocabulary.
        seen_classes: the training classes: adds ``_seen`` / ``_held_out`` by whether the
            ground-truth class is among them.
    """
    default_prefix = 'region'

    def __init__(self, vocabulary: VocabularySpec, classes: Optional[VocabularySpec] = None,
                 seen_classes: Optional[VocabularySpec] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.split = ClassSplit(vocabulary, seen_classes)
        self.columns = np.arange(len(self.split))
        if classes is not None:
            names = ClassSplit(classes).names
            missing = [n for n in names if n not in self.split.index]
            if missing:
                raise ValueError(f'classes {missing} are not in the vocabulary {self.split.names}')
            self.columns = np.array([self.split.index[n] for n in names])

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            scores = torch.as_tensor(sample['pred_region_scores']).float().cpu()
            self.split.check_scores(scores, type(self).__name__)
            labels = [self.split.label(tags) for tags in sample['gt_instances']['tags']]
            for row, label in zip(scores.numpy()[:, self.columns], labels):
                if label in self.columns:
                    self.results.append((int(self.columns[row.argmax()]), label))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred = np.array([r[0] for r in results], dtype=np.int64)
        labels = np.array([r[1] for r in results], dtype=np.int64)
        metrics = {}
        for suffix, rows in self.split.subsets(labels).items():
            hit, truth = pred[rows] == labels[rows], labels[rows]
            present = np.unique(truth)
            metrics[f'top1{suffix}'] = float(hit.mean() * 100) if rows.any() else float('nan')
            metrics[f'mean_acc{suffix}'] = float(np.mean(
                [hit[truth == c].mean() for c in present]) * 100) if len(present) else float('nan')
        return metrics
