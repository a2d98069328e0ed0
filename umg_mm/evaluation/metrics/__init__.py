"""Metrics of umg_mm."""
from .open_vocab_iou_metric import OpenVocabIoUMetric, seen_class_mask
from .open_vocab_panoptic_metric import OpenVocabPanopticMetric
from .panoptic_semantic_iou_metric import PanopticSemanticIoUMetric

__all__ = [
    'OpenVocabIoUMetric', 'OpenVocabPanopticMetric', 'PanopticSemanticIoUMetric',
    'seen_class_mask'
]
