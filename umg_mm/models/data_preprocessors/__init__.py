"""Data preprocessors of umg_mm."""
from .umg_data_preprocessor import UMGDataPreprocessor

__all__ = ['UMGDataPreprocessor']
