"""Zero-shot metrics of multi-granularity CLIP models (``tools/test.py`` evaluators)."""
from .dense_zero_shot_iou import DenseZeroShotIoUMetric
from .image_text_retrieval import ImageTextRetrievalMetric
from .region_recognition import RegionRecognitionMetric
from .zero_shot_classes import ClassSplit
from .zero_shot_classification import ZeroShotClassificationMetric

__all__ = ['ClassSplit', 'DenseZeroShotIoUMetric', 'ImageTextRetrievalMetric',
           'RegionRecognitionMetric', 'ZeroShotClassificationMetric']
