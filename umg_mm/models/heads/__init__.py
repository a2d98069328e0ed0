"""Heads: the open-vocabulary classifier and its in/out-of-vocabulary ensemble."""
from .text_classifier import OpenVocabClassifier
from .vocab_ensemble import VocabEnsemble, mask_pool

__all__ = ['OpenVocabClassifier', 'VocabEnsemble', 'mask_pool']
