"""Hooks of umg_mm."""
from .dataset_vocabulary_hook import DatasetVocabularyHook, dataset_vocabulary

__all__ = ['DatasetVocabularyHook', 'dataset_vocabulary']
