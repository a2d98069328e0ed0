"""Heads: the open-vocabulary classifier, its in/out-of-vocabulary ensemble, the dense-CLIP
fallbacks for what the proposals leave uncovered, and the heads built on them: Mask2Former for
mmdet (panoptic) and mmseg (semantic), and the training-free dense zero-shot head (mmseg)."""
from .dense_zero_shot_head import DenseZeroShotHead
from .open_vocab_mask2former_head import OpenVocabMask2FormerHead
from .open_vocab_seg_head import OpenVocabMask2FormerSegHead
from .text_classifier import OpenVocabClassifier
from .uncovered_fallback import UncoveredPixelFallback, UncoveredRegionFallback
from .vocab_ensemble import VocabEnsemble, mask_pool

__all__ = [
    'DenseZeroShotHead', 'OpenVocabClassifier', 'OpenVocabMask2FormerHead',
    'OpenVocabMask2FormerSegHead', 'UncoveredPixelFallback', 'UncoveredRegionFallback',
    'VocabEnsemble', 'mask_pool'
]
