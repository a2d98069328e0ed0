"""Heads: the open-vocabulary classifier, its in/out-of-vocabulary ensemble, and the mmdet
Mask2Former head built on them."""
from .open_vocab_mask2former_head import OpenVocabMask2FormerHead
from .text_classifier import OpenVocabClassifier
from .vocab_ensemble import VocabEnsemble, mask_pool

__all__ = ['OpenVocabClassifier', 'OpenVocabMask2FormerHead', 'VocabEnsemble', 'mask_pool']
