"""Hooks of umg_mm."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .progress_logger_hook import ProgressLoggerHook
from .vocabulary_hook import VocabularyHook, dataset_vocabulary

__all__ = ['AtomicCheckpointHook', 'ProgressLoggerHook', 'VocabularyHook', 'dataset_vocabulary']
