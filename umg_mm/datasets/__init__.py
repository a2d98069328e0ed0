"""Datasets of umg_mm: the UMG schema, its validator, and the datasets that read it."""
from . import transforms  # noqa: F401  (registers the transforms)
from .schema import PROBLEM_KINDS, SCHEMA_VERSION, Problem, validate_record
from .umg_dataset import UMGDataset
from .umg_webdataset import UMGWebDataset

__all__ = [
    'PROBLEM_KINDS', 'SCHEMA_VERSION', 'Problem', 'UMGDataset', 'UMGWebDataset',
    'validate_record'
]
