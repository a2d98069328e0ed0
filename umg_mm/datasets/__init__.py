"""Datasets of umg_mm: the UMG schema, its validator, the datasets that read it."""
from . import transforms  # noqa: F401  (registers the transforms)
from .coco_panoptic_subset_dataset import CocoPanopticSubsetDataset
from .schema import PROBLEM_KINDS, SCHEMA_VERSION, Problem, validate_record
from .umg_dataset import UMGDataset
from .umg_webdataset import UMGWebDataset
from .vocabulary_coco_panoptic_dataset import VocabularyCocoPanopticDataset
from .vocabulary_seg_dataset import VocabularySegDataset

__all__ = [
    'CocoPanopticSubsetDataset', 'PROBLEM_KINDS', 'SCHEMA_VERSION', 'Problem', 'UMGDataset',
    'UMGWebDataset', 'VocabularyCocoPanopticDataset', 'VocabularySegDataset', 'validate_record'
]
