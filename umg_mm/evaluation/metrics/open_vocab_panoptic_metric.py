"""mmdet's ``CocoPanopticMetric`` with PQ over the seen and the held-out classes apart."""
import math
from typing import Dict, Sequence, Union

from mmdet.evaluation.metrics import CocoPanopticMetric
from panopticapi.evaluation import PQStat

from umg_mm.structures.vocabulary import Vocabulary, load_held_out_names
from umg_mm.registry import METRICS


@METRICS.register_module()
class OpenVocabPanopticMetric(CocoPanopticMetric):
    """PQ, SQ, RQ (all, things, stuff) as ``CocoPanopticMetric``, plus seen and held-out PQ.

    The open-vocabulary question is how well a model segments classes it was not trained on.
    Besides the metrics of :class:`mmdet.evaluation.CocoPanopticMetric`, this reports
    ``PQ_seen``, ``SQ_seen``, ``RQ_seen`` over the classes not in ``held_out_classes`` and
    ``PQ_held_out``, ``SQ_held_out``, ``RQ_held_out`` over those in it, from the same per-class
    statistics (a class counts where it occurs in the ground truth or the predictions, as in
    PQ). A split with no such class reports ``nan``.

    Args:
        held_out_classes: names of the classes held out of training (a vocabulary name, file or
            list), matched with the category names of the evaluation dataset; names that are not
            among them are an error.
        **kwargs: ``CocoPanopticMetric``'s arguments (``ann_file``, ``seg_prefix``,
            ``classwise``, ...). ``outfile_prefix`` is not supported (its results are evaluated
            by panopticapi in one pass, without per-batch statistics).
    """

    def __init__(self, held_out_classes: Union[str, Sequence, Vocabulary], **kwargs):
        if kwargs.get('outfile_prefix') or kwargs.get('format_only'):
            raise ValueError('OpenVocabPanopticMetric computes seen/held-out PQ from per-batch '
                             'statistics; remove outfile_prefix/format_only (use '
                             'CocoPanopticMetric to write result files)')
        super().__init__(**kwargs)
        self.held_out = load_held_out_names(held_out_classes)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """The parent's metrics, plus PQ/SQ/RQ on seen and on held-out classes (in %)."""
        metrics = super().compute_metrics(results)
        pq_stat = PQStat()
        for result in results:
            pq_stat += result
        names = {info['name'] for info in self.categories.values()}
        unknown = sorted(set(self.held_out) - names)
        if unknown:
            raise ValueError(f'OpenVocabPanopticMetric held_out_classes {unknown} are not '
                             f'categories of the evaluation data ({sorted(names)})')
        for split, held_out in (('seen', False), ('held_out', True)):
            subset = {cat_id: info for cat_id, info in self.categories.items()
                      if (info['name'] in self.held_out) == held_out}
            present = any(pq_stat[c].tp + pq_stat[c].fp + pq_stat[c].fn for c in subset)
            average = pq_stat.pq_average(subset, isthing=None)[0] if present else \
                dict(pq=math.nan, sq=math.nan, rq=math.nan)
            for key in ('pq', 'sq', 'rq'):
                metrics[f'{key.upper()}_{split}'] = 100 * average[key]
        return metrics
