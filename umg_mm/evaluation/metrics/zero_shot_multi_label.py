"""Multi-label zero-shot image classification: every class present in an image is a right answer."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from umg_mm.registry import METRICS
from .zero_shot_classes import ClassSplit, VocabularySpec


def load_multi_label_file(path: str) -> Tuple[List[str], Dict[str, List[int]]]:
    """Read a multi-label annotation file in mmengine's ``BaseDataset`` format (the one mmpretrain's
    ``MultiLabelDataset`` reads)::

        {"metainfo": {"classes": ["circle", ...]},
         "data_list": [{"img_path": "val_000000.jpg", "gt_label": [0, 4]}, ...]}

    Returns:
        ``(classes, labels)``: ``metainfo.classes`` (empty list when absent) and, per image file
        name (``img_path``'s base name), its label indices.

    Raises:
        ValueError: naming the file, the record (``data_list[i]``) and the field at fault.
    """
    try:
        with open(path) as f:
            content = json.load(f)
    except ValueError as error:
        raise ValueError(f'{path} is not JSON: {error}') from None
    if not isinstance(content, dict) or not isinstance(content.get('data_list'), list):
        raise ValueError(f'{path}: "data_list" must be a list of {{"img_path", "gt_label"}} '
                         f'records (mmengine BaseDataset format)')
    classes = content.get('metainfo', {}).get('classes', [])
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise ValueError(f'{path}: metainfo.classes must be a list of class names')
    labels = {}
    for i, record in enumerate(content['data_list']):
        where = f'{path}: data_list[{i}]'
        if not isinstance(record, dict) or not isinstance(record.get('img_path'), str):
            raise ValueError(f'{where}.img_path: missing or not a string')
        gt_label = record.get('gt_label')
        if not isinstance(gt_label, list) or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in gt_label):
            raise ValueError(f'{where}.gt_label: {gt_label!r} is not a list of class indices')
        bad = [x for x in gt_label if classes and not 0 <= x < len(classes)]
        if bad:  # without metainfo.classes the metric checks them against its vocabulary
            raise ValueError(f'{where}.gt_label: {bad} outside 0..{len(classes) - 1} '
                             f'(metainfo.classes has {len(classes)})')
        labels[osp.basename(record['img_path'])] = gt_label
    return classes, labels


@METRICS.register_module()
class ZeroShotMultiLabelMetric(BaseMetric):
    """Multi-label zero-shot classification (%) from ``pred_img_scores`` (each image's cosine
    similarity to each class of the model's vocabulary).

    Ground truth: ``label_file`` (see :func:`load_multi_label_file`; the synthetic world's
    ``image_labels/val_multilabel.json``: every thing class present). Its ``metainfo.classes``
    (default: the vocabulary) are the candidates; only their score columns compete. Images are
    matched by file name.

    - ``mAP``: mean over the candidate classes present in at least one image of the average
      precision of that class's scores over all images (mmpretrain's ``AveragePrecision``).
    - ``any_top1``: share of the images (with at least one class) whose top-ranked candidate is
      one of their classes.
    - with ``seen_classes``: ``mAP_seen`` / ``mAP_held_out`` average the seen / held-out classes'
      APs; ``any_top1_seen`` / ``any_top1_held_out`` keep the rule of ``any_top1`` (any present
      class ranked first) over the images holding at least one seen / held-out class (an image
      holding both counts in both).

    Args:
        vocabulary: the model's vocabulary (its score columns).
        label_file: the multi-label annotation file.
        seen_classes: the training classes; adds the ``_seen`` / ``_held_out`` keys.
    """
    default_prefix = 'zero_shot_cls'

    def __init__(self, vocabulary: VocabularySpec, label_file: str,
                 seen_classes: Optional[VocabularySpec] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.split = ClassSplit(vocabulary, seen_classes)
        classes, self.labels = load_multi_label_file(label_file)
        missing = [n for n in classes if n not in self.split.index]
        if missing:
            raise ValueError(f'{label_file}: metainfo.classes {missing} are not in the '
                             f'vocabulary {self.split.names}')
        classes = classes or self.split.names
        bad = sorted({x for v in self.labels.values() for x in v if not 0 <= x < len(classes)})
        if bad:
            raise ValueError(f'{label_file}: gt_label indices {bad} are not indices into the '
                             f'{len(classes)} vocabulary classes')
        self.columns = np.array([self.split.index[n] for n in classes])
        self.label_file = label_file

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            scores, label = self.split.image_scores(sample, self.labels, self.label_file,
                                                    type(self).__name__, entry='record')
            target = np.zeros(len(self.columns), dtype=np.int64)
            target[label] = 1
            self.results.append((scores[self.columns].numpy(), target))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        # imported here: ``import mmpretrain`` loads its models too, which umg_mm otherwise skips
        from mmpretrain.evaluation import AveragePrecision
        scores = np.stack([r[0] for r in results])  # (N, C)
        target = np.stack([r[1] for r in results])  # (N, C) 0/1
        ap = AveragePrecision.calculate(torch.from_numpy(scores), torch.from_numpy(target),
                                        average=None).numpy()  # (C,) in %
        present = target.any(axis=0)
        hit = target[np.arange(len(target)), scores.argmax(axis=1)].astype(bool)
        held = self.split.held_out[self.columns]
        class_sets = {'': np.ones_like(held)}
        if self.split.has_split:
            class_sets.update(_seen=~held, _held_out=held)
        metrics = {}
        for suffix, classes in class_sets.items():
            aps, rows = ap[classes & present], target[:, classes].any(axis=1)
            metrics[f'mAP{suffix}'] = float(aps.mean()) if len(aps) else float('nan')
            metrics[f'any_top1{suffix}'] = float(hit[rows].mean() * 100) if rows.any() \
                else float('nan')
        return metrics
