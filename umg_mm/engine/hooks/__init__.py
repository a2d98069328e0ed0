"""Hooks of umg_mm."""
from .dataset_vocabulary_hook import DatasetVocabularyHook

__all__ = ['DatasetVocabularyHook']
