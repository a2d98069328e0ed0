"""Heads: the open-vocabulary classifier and its in/out-of-vocabulary ensemble, and the
mmseg heads that use them (Mask2Former with a text classifier; training-free dense zero-shot)."""
from .dense_zero_shot_head import DenseZeroShotHead
from .open_vocab_seg_head import OpenVocabMask2FormerSegHead
from .text_classifier import OpenVocabClassifier
from .vocab_ensemble import VocabEnsemble, mask_pool

__all__ = [
    'DenseZeroShotHead', 'OpenVocabClassifier', 'OpenVocabMask2FormerSegHead', 'VocabEnsemble',
    'mask_pool'
]
