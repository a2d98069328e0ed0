"""Open-vocabulary post-processing, one home for both tasks: the heads emit raw class and mask
logits, and the mmdet panoptic detector and the mmseg semantic segmentor turn them into
predictions at test time with these parts:

* :class:`VocabEnsemble`: FC-CLIP's in/out-of-vocabulary ensemble of a head's class
  probabilities with the frozen CLIP's mask-pooled ones (:mod:`.ensemble`);
* :class:`UncoveredRegionFallback` (panoptic maps) and :class:`UncoveredPixelFallback`
  (semantic scores): what no mask proposal covers is named by the dense CLIP (:mod:`.fallback`);
* dense-text similarities and pooling (:mod:`.similarity`): :func:`class_similarities`,
  :func:`dense_class_scores`, :func:`masked_average_pool` (per query, the soft-mask-weighted
  mean of the dense embeddings), :func:`mask_class_scores` (Mask2Former's semantic inference);
* the classes that can win a pixel of a semantic map (:mod:`.candidates`), so a large
  vocabulary's full-resolution maps are computed for those classes only.

None of them has parameters: moving them changes no checkpoint key.
"""
from .candidates import map_candidates, mixture_candidates
from .ensemble import VocabEnsemble
from .fallback import UncoveredPixelFallback, UncoveredRegionFallback
from .similarity import (class_similarities, dense_class_scores, mask_class_scores,
                         masked_average_pool)

__all__ = [
    'UncoveredPixelFallback', 'UncoveredRegionFallback', 'VocabEnsemble', 'class_similarities',
    'dense_class_scores', 'map_candidates', 'mask_class_scores', 'masked_average_pool',
    'mixture_candidates'
]
