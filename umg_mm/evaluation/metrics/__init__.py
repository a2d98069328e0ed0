"""Metrics of umg_mm: zero-shot metrics of multi-granularity CLIP models and open-vocabulary
segmentation metrics (``tools/test.py`` evaluators)."""
from .atomic_dump_results import AtomicDumpResults
from .dense_zero_shot_iou import DenseZeroShotIoUMetric
from .image_text_retrieval import ImageTextRetrievalMetric
from .open_vocab_iou_metric import OpenVocabIoUMetric
from .open_vocab_panoptic_metric import OpenVocabPanopticMetric
from .panoptic_semantic_iou_metric import PanopticSemanticIoUMetric
from .region_recognition import RegionRecognitionMetric
from .zero_shot_classes import ClassSplit
from .zero_shot_classification import ZeroShotClassificationMetric
from .zero_shot_multi_label import ZeroShotMultiLabelMetric

__all__ = ['AtomicDumpResults', 'ClassSplit', 'DenseZeroShotIoUMetric', 'ImageTextRetrievalMetric',
           'OpenVocabIoUMetric', 'OpenVocabPanopticMetric', 'PanopticSemanticIoUMetric',
           'RegionRecognitionMetric', 'ZeroShotClassificationMetric', 'ZeroShotMultiLabelMetric']
