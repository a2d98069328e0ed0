"""mIoU with a breakdown over the classes seen in training and the others (held out)."""
from typing import Dict, List, Sequence, Union

import numpy as np
from mmengine.logging import MMLogger
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

from umg_mm.structures.seen_classes import SeenClasses
from umg_mm.structures.vocabulary import Vocabulary


@METRICS.register_module()
class OpenVocabIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric`` plus mIoU over seen and over held-out (unseen) classes.

    Everything ``IoUMetric`` reports is kept (``aAcc``, ``mIoU``, the per-class table); two keys
    are added: ``mIoU_seen`` and ``mIoU_held_out``, the mean IoU (in %) over the evaluated classes
    that are / are not in ``seen_classes`` (by name, see
    :class:`~umg_mm.structures.SeenClasses`), each over the
    classes present in the ground truth or the predictions, as ``mIoU`` is (mmseg gives absent
    classes NaN IoU and averages with ``nanmean``). A subset that is empty gives NaN.

    Args:
        seen_classes: the training vocabulary (a shipped name such as ``'coco_stuff_171'``, a
            vocabulary file such as the synthetic world's ``vocabularies/seen.txt``, or a list).
        **kwargs: ``IoUMetric``'s arguments (``iou_metrics`` must include ``'mIoU'``,
            ``ignore_index``, ...).
    """

    def __init__(self, seen_classes: Union[str, Sequence, Vocabulary], **kwargs) -> None:
        super().__init__(**kwargs)
        if 'mIoU' not in self.metrics:
            raise ValueError(f'OpenVocabIoUMetric breaks mIoU down; iou_metrics={self.metrics} '
                             f"must include 'mIoU'")
        self.seen_classes = SeenClasses(seen_classes)

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Compute ``IoUMetric``'s metrics and the seen / held-out mIoU.

        Args:
            results: per image, ``(area_intersect, area_union, area_pred, area_label)``, each
                ``(num_classes,)``.

        Returns:
            ``IoUMetric``'s dict with ``mIoU_seen`` and ``mIoU_held_out`` added.
        """
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        intersect = sum(np.asarray(r[0], dtype=np.float64) for r in results)
        union = sum(np.asarray(r[1], dtype=np.float64) for r in results)
        with np.errstate(divide='ignore', invalid='ignore'):
            iou = intersect / union  # NaN where a class is in neither labels nor predictions
        vocabulary = self.dataset_meta.get('vocabulary', self.dataset_meta['classes'])
        seen = self.seen_classes.mask(vocabulary)
        if len(seen) != len(iou):
            raise ValueError(f'the dataset names {len(seen)} classes but the results have '
                             f'{len(iou)}; the dataset metainfo "vocabulary" and "classes" '
                             f'must list the same classes')
        for key, subset in (('mIoU_seen', seen), ('mIoU_held_out', ~seen)):
            values = iou[subset]
            present = values[~np.isnan(values)]
            metrics[key] = float(np.round(present.mean() * 100, 2)) if len(present) else \
                float('nan')
        MMLogger.get_current_instance().info(
            f'mIoU over {int(seen.sum())} seen classes: {metrics["mIoU_seen"]}, over '
            f'{int((~seen).sum())} held-out classes: {metrics["mIoU_held_out"]}')
        return metrics
