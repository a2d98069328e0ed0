"""mmdet's ``CocoPanopticMetric`` with PQ over the seen and the held-out classes apart."""
import math
from typing import Dict, Sequence, Union

from mmdet.evaluation.metrics import CocoPanopticMetric
from panopticapi.evaluation import PQStat

from umg_mm.structures.seen_classes import SeenClasses
from umg_mm.structures.vocabulary import Vocabulary
from umg_mm.registry import METRICS


@METRICS.register_module()
class OpenVocabPanopticMetric(CocoPanopticMetric):
    """PQ, SQ, RQ (all, things, stuff) as ``CocoPanopticMetric``, plus seen and held-out PQ.

    The open-vocabulary question is how well a model segments classes it was not trained on.
    Besides the metrics of :class:`mmdet.evaluation.CocoPanopticMetric`, this reports
    ``PQ_seen``, ``SQ_seen``, ``RQ_seen`` over the categories in ``seen_classes`` and
    ``PQ_held_out``, ``SQ_held_out``, ``RQ_held_out`` over the others, from the same per-class
    statistics (a class counts where it occurs in the ground truth or the predictions, as in
    PQ). A split with no such class reports ``nan``.

    Args:
        seen_classes: the training classes (a vocabulary name, file or list), matched with the
            category names of the evaluation dataset by :class:`~umg_mm.structures.SeenClasses`.
        **kwargs: ``CocoPanopticMetric``'s arguments (``ann_file``, ``seg_prefix``,
            ``classwise``, ...). ``outfile_prefix`` is not supported (its results are evaluated
            by panopticapi in one pass, without per-batch statistics).
    """

    def __init__(self, seen_classes: Union[str, Sequence, Vocabulary], **kwargs):
        if kwargs.get('outfile_prefix') or kwargs.get('format_only'):
            raise ValueError('OpenVocabPanopticMetric computes seen/held-out PQ from per-batch '
                             'statistics; remove outfile_prefix/format_only (use '
                             'CocoPanopticMetric to write result files)')
        super().__init__(**kwargs)
        self.seen_classes = SeenClasses(seen_classes)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """The parent's metrics, plus PQ/SQ/RQ on seen and on held-out classes (in %)."""
        metrics = super().compute_metrics(results)
        pq_stat = PQStat()
        for result in results:
            pq_stat += result
        for split, seen in (('seen', True), ('held_out', False)):
            subset = {cat_id: info for cat_id, info in self.categories.items()
                      if self.seen_classes.is_seen([info['name']]) == seen}
            present = any(pq_stat[c].tp + pq_stat[c].fp + pq_stat[c].fn for c in subset)
            average = pq_stat.pq_average(subset, isthing=None)[0] if present else \
                dict(pq=math.nan, sq=math.nan, rq=math.nan)
            for key in ('pq', 'sq', 'rq'):
                metrics[f'{key.upper()}_{split}'] = 100 * average[key]
        return metrics
