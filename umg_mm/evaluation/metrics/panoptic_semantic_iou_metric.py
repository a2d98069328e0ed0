"""mIoU of the semantic segmentation contained in panoptic predictions."""
from typing import Sequence

from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmseg.evaluation.metrics import IoUMetric

from umg_mm.registry import METRICS


@METRICS.register_module()
class PanopticSemanticIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric`` (mIoU, mDice, mFscore) on the class map of panoptic predictions.

    A panoptic prediction labels each pixel ``class + instance * INSTANCE_OFFSET`` (void:
    ``num_classes``); its class map is compared with the ground truth semantic map that mmdet's
    ``LoadPanopticAnnotations`` builds (``gt_sem_seg``, 255 where void). Void predictions count
    as misses. So the same forward pass gives PQ (``CocoPanopticMetric``) and mIoU.

    ``CocoPanopticMetric`` rewrites void pixels of the prediction to 0 in place (panopticapi's
    ``VOID``); when it runs first, a bare 0 would read as class 0. A thing class always carries an
    instance id (``>= INSTANCE_OFFSET``), so a value below ``INSTANCE_OFFSET`` whose class is a
    thing class is void, whichever metric runs first.

    Args:
        **kwargs: mmseg ``IoUMetric``'s arguments (``iou_metrics``, ``ignore_index``, ...).
    """

    default_prefix = 'panoptic_semseg'

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Accumulate intersection and union areas of one batch (per class)."""
        num_classes = len(self.dataset_meta['classes'])
        num_things = len(self.dataset_meta.get('thing_classes', ()))
        for data_sample in data_samples:
            if 'gt_sem_seg' not in data_sample:
                raise KeyError('PanopticSemanticIoUMetric needs gt_sem_seg: put '
                               'LoadPanopticAnnotations (with_seg=True) in the test pipeline')
            panoptic = data_sample['pred_panoptic_seg']['sem_seg'].squeeze()
            pred_label = panoptic % INSTANCE_OFFSET
            bare_thing = (panoptic < INSTANCE_OFFSET) & (pred_label < num_things)
            pred_label = pred_label.masked_fill(bare_thing, num_classes)  # void
            label = data_sample['gt_sem_seg']['sem_seg'].squeeze().to(pred_label)
            self.results.append(
                self.intersect_and_union(pred_label, label, num_classes, self.ignore_index))
