"""Zero-shot image classification: top-k accuracy of the image embedding's nearest class."""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from umg_mm.registry import METRICS
from .zero_shot_classes import ClassSplit, VocabularySpec


@METRICS.register_module()
class ZeroShotClassificationMetric(BaseMetric):
    """Top-k accuracy (%) of ``pred_img_scores`` (the model's cosine similarity of each image to
    each class of its ``test_cfg`` vocabulary, prompt-ensembled over its templates).

    Ground truth comes from ``label_file``: lines ``<image file name> <label index>`` (mmpretrain's
    ``CustomDataset`` annotation format; the synthetic world's ``image_labels/val.txt``), indices
    into ``classes``. Only the columns of ``classes`` compete (e.g. the 10 things of the
    synthetic world among its 17 classes). Images are matched by file name.

    Args:
        vocabulary: the model's vocabulary (its score columns).
        label_file: the labels file.
        classes: the label indices' classes (a subset of ``vocabulary``); default: ``vocabulary``.
        seen_classes: the training classes; adds ``top{k}_seen`` / ``top{k}_held_out`` (by
            whether the ground-truth class is among them).
        topk: the k of the top-k accuracies.
    """
    default_prefix = 'zero_shot_cls'

    def __init__(self, vocabulary: VocabularySpec, label_file: str,
                 classes: Optional[VocabularySpec] = None,
                 seen_classes: Optional[VocabularySpec] = None, topk: Sequence[int] = (1, 5),
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.split = ClassSplit(vocabulary, seen_classes)
        candidates = ClassSplit(classes if classes is not None else vocabulary)
        missing = [n for n in candidates.names if n not in self.split.index]
        if missing:
            raise ValueError(f'classes {missing} are not in the vocabulary {self.split.names}')
        self.columns = np.array([self.split.index[n] for n in candidates.names])
        self.labels = {}
        with open(label_file) as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                parts = line.rsplit(maxsplit=1)
                if len(parts) != 2 or not parts[1].lstrip('-').isdigit() or \
                        not 0 <= int(parts[1]) < len(self.columns):
                    raise ValueError(f'{label_file} line {line_no}: {line.strip()!r} is not '
                                     f'"<file name> <index in 0..{len(self.columns) - 1}>"')
                self.labels[osp.basename(parts[0])] = int(parts[1])
        self.label_file = label_file
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            scores, label = self.split.image_scores(sample, self.labels, self.label_file,
                                                    type(self).__name__)
            self.results.append((scores[self.columns].numpy(), label))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        scores = np.stack([r[0] for r in results])
        labels = np.array([r[1] for r in results])
        order = np.argsort(-scores, axis=1, kind='stable')
        rank = (order == labels[:, None]).argmax(axis=1)
        metrics = {}
        for suffix, rows in self.split.subsets(self.columns[labels]).items():
            for k in self.topk:
                value = float((rank[rows] < k).mean() * 100) if rows.any() else float('nan')
                metrics[f'top{k}{suffix}'] = value
        return metrics
