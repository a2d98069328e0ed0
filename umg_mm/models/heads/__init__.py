"""Heads: the open-vocabulary classifier and the heads built on it: Mask2Former for mmdet
(panoptic) and mmseg (semantic), which emit raw class and mask logits (their open-vocabulary
post-processing is :mod:`umg_mm.models.open_vocab`), and the training-free dense zero-shot head
(mmseg)."""
from .dense_zero_shot_head import DenseZeroShotHead
from .open_vocab_mask2former_head import OpenVocabMask2FormerHead
from .open_vocab_seg_head import OpenVocabMask2FormerSegHead
from .text_classifier import OpenVocabClassifier

__all__ = [
    'DenseZeroShotHead', 'OpenVocabClassifier', 'OpenVocabMask2FormerHead',
    'OpenVocabMask2FormerSegHead'
]
