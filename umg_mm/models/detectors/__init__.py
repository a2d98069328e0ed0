"""mmdet detectors of umg_mm (registered in mmdet's MODELS)."""
from .open_vocab_mask2former import OpenVocabMask2Former

__all__ = ['OpenVocabMask2Former']
