"""Hooks of umg_mm."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .dataset_vocabulary_hook import DatasetVocabularyHook
from .progress_logger_hook import ProgressLoggerHook
from .semseg_vocabulary_hook import SemSegVocabularyHook, dataset_vocabulary

__all__ = ['AtomicCheckpointHook', 'DatasetVocabularyHook', 'ProgressLoggerHook',
           'SemSegVocabularyHook', 'dataset_vocabulary']
