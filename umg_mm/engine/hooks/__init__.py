"""Hooks of umg_mm."""
from .dataset_vocabulary_hook import DatasetVocabularyHook
from .semseg_vocabulary_hook import SemSegVocabularyHook, dataset_vocabulary

__all__ = ['DatasetVocabularyHook', 'SemSegVocabularyHook', 'dataset_vocabulary']
