"""Metrics of umg_mm (registered in the libraries' METRICS registries)."""
from .open_vocab_iou_metric import OpenVocabIoUMetric, seen_class_mask

__all__ = ['OpenVocabIoUMetric', 'seen_class_mask']
