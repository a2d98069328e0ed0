"""Name what the trained mask proposals leave uncovered with the frozen backbone's dense CLIP.

A Mask2Former trained on seen classes only learns to leave everything else out of its masks: in
training, pixels of classes outside the vocabulary are void, i.e. background of every ground-truth
mask. At test time the regions of new classes come out void (panoptic) or with almost no score
for any class (semantic), and no classifier ensemble can name a region that no proposal covers.
The frozen UMG-CLIP still knows them (its pixel-text alignment was trained on every class), so
these fallbacks label the uncovered pixels by their dense embeddings' nearest class text:

* :class:`UncoveredRegionFallback` (panoptic maps): void pixels become segments (below);
* :class:`UncoveredPixelFallback` (semantic score maps): pixels whose best class score is below
  a coverage threshold take CLIP's class probabilities.

Pixels the proposals cover are never changed. With ``seen_classes`` (the training vocabulary),
only the other classes may fill uncovered pixels: the trained proposals already segment the seen
ones, and an uncovered patch beside one is a proposal's margin, not a missed object.
"""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmengine.model import BaseModule
from torch import Tensor

from umg_mm.structures.seen_classes import SeenClasses
from umg_mm.structures.vocabulary import Vocabulary
from umg_mm.registry import MODELS
from .similarity import class_similarities, dense_class_scores

VocabularySpec = Union[str, Sequence, Vocabulary]


class UncoveredFallback(BaseModule):
    """What both fallbacks share: the CLIP softmax temperature and which classes may fill.

    Args:
        clip_logit_scale: inverse temperature of CLIP's softmax over the vocabulary (CLIP's 100).
        seen_classes: the classes the proposals were trained on (a benchmark name, a vocabulary
            file or a list of names, matched by :class:`~umg_mm.structures.SeenClasses`); only
            the other classes fill uncovered pixels. ``None``: every class may.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 clip_logit_scale: float = 100.,
                 seen_classes: Optional[VocabularySpec] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.clip_logit_scale = clip_logit_scale
        self.seen_classes = SeenClasses.build(seen_classes)
        self.allowed = None  # (K,) bool: classes that may fill void regions; set_vocabulary

    def set_vocabulary(self, vocabulary: VocabularySpec) -> Optional[np.ndarray]:
        """Mark the classes of ``vocabulary`` that may fill uncovered pixels (the unseen ones).

        Returns:
            ``(K,)`` bool array, or ``None`` when every class may (no ``seen_classes``).
        """
        self.allowed = None if self.seen_classes is None else \
            self.seen_classes.held_out_mask(vocabulary)
        return self.allowed

    def check_vocabulary(self, num_classes: int) -> None:
        """Raise unless :meth:`set_vocabulary` was given the current ``num_classes`` classes."""
        if self.seen_classes is not None and (self.allowed is None or
                                              len(self.allowed) != num_classes):
            known = 0 if self.allowed is None else len(self.allowed)
            raise RuntimeError(f'{type(self).__name__} knows {known} classes but the '
                               f'vocabulary has {num_classes}; call set_vocabulary(...) after '
                               f'changing the vocabulary')


@MODELS.register_module()
class UncoveredRegionFallback(UncoveredFallback):
    """Label the void pixels of a panoptic map with dense CLIP:

    1. each void pixel takes the class whose text embedding its dense embedding is closest to;
    2. the void pixels of each stuff class, and the void pixels closest to any thing class
       together, are split into connected components; those under ``min_area`` pixels are dropped;
    3. each component is classified by its pooled similarities (the mean, inside it, of every
       class's pixel similarity, i.e. the normalised embeddings pooled as region-text alignment
       pools them): a thing component as the most similar thing class, a stuff one keeps its
       class; it is kept when that class's probability is at least ``score_thr`` and the class
       may fill (not seen);
    4. a thing component becomes a new instance, a stuff component joins its class's segment.

    Args:
        min_area: smallest component kept, in pixels of the output map.
        score_thr: smallest mask-pooled CLIP probability (softmax over the vocabulary at
            ``clip_logit_scale``) of a component's class for it to be kept.
        clip_logit_scale, seen_classes, init_cfg: see :class:`UncoveredFallback`.
    """

    def __init__(self,
                 min_area: int = 16,
                 score_thr: float = 0.,
                 clip_logit_scale: float = 100.,
                 seen_classes: Optional[VocabularySpec] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(clip_logit_scale, seen_classes, init_cfg)
        if min_area < 1:
            raise ValueError(f'UncoveredRegionFallback min_area={min_area}; it must be >= 1 pixel')
        if not 0. <= score_thr <= 1.:
            raise ValueError(f'UncoveredRegionFallback score_thr={score_thr}; it is a '
                             f'probability in [0, 1]')
        self.min_area = min_area
        self.score_thr = score_thr

    def forward(self, pan_seg: Tensor, dense: Tensor, class_embeddings: Tensor,
                num_things: int, img_shape: Tuple[int, int],
                pad_shape: Tuple[int, int]) -> Tensor:
        """Fill the void pixels of one panoptic map.

        Args:
            pan_seg: ``(H, W)`` panoptic ids (``label + instance * INSTANCE_OFFSET``; void is the
                number of classes ``K``).
            dense: ``(D, h, w)`` frozen-backbone dense embeddings of the padded input.
            class_embeddings: ``(K, D)`` L2-normalised class embeddings (things first).
            num_things: number of thing classes ``T`` (labels ``< T`` are things).
            img_shape: ``(H_img, W_img)`` of the image inside the padded input.
            pad_shape: ``(H_pad, W_pad)`` of the padded input.

        Returns:
            ``(H, W)`` panoptic ids, covered pixels unchanged.
        """
        num_classes = class_embeddings.shape[0]
        self.check_vocabulary(num_classes)
        void = pan_seg == num_classes
        if int(void.sum()) < self.min_area:
            return pan_seg
        scores = dense_class_scores(dense, class_embeddings, img_shape, pad_shape,
                                    tuple(pan_seg.shape))
        pixel_labels = scores.argmax(dim=0)
        is_thing = void & (pixel_labels < num_things)
        # one region per stuff class; the thing pixels together, whatever thing each is closest
        # to (single pixels of a small object rarely agree, its pooled embedding does)
        regions = [(is_thing, slice(0, num_things))] + [
            (void & (pixel_labels == label), slice(label, label + 1))
            for label in pixel_labels[void & ~is_thing].unique().tolist()]
        out = pan_seg.clone()
        next_instance = int(pan_seg.max()) // INSTANCE_OFFSET + 1
        for region, candidates in regions:
            count, components, stats, _ = cv2.connectedComponentsWithStats(
                region.cpu().numpy().astype(np.uint8), connectivity=4)
            components = torch.from_numpy(components).to(pan_seg.device)
            for index in range(1, count):
                if stats[index, cv2.CC_STAT_AREA] < self.min_area:
                    continue
                component = components == index
                pooled = scores[:, component].mean(dim=1)
                probs = (self.clip_logit_scale * pooled).softmax(dim=0)
                label = candidates.start + int(probs[candidates].argmax())
                if float(probs[label]) < self.score_thr or (
                        self.allowed is not None and not self.allowed[label]):
                    continue
                if label < num_things:
                    out[component] = label + next_instance * INSTANCE_OFFSET
                    next_instance += 1
                else:
                    out[component] = label
        return out


@MODELS.register_module()
class UncoveredPixelFallback(UncoveredFallback):
    """Give CLIP's class probabilities to the pixels of a semantic score map no query covers.

    Mask2Former's semantic scores are the queries' class probabilities times their mask
    probabilities, summed over queries: a pixel every mask leaves out scores near 0 for every class
    (on the synthetic world: median best score 0.04 on held-out pixels against 1.35 on seen ones).
    Such a pixel (best score below ``coverage_thr``) takes CLIP's softmax over the vocabulary from
    its dense embedding instead, when CLIP's class for it may fill (not seen).

    Args:
        coverage_thr: best class score under which a pixel counts as uncovered.
        clip_logit_scale, seen_classes, init_cfg: see :class:`UncoveredFallback`.
    """

    def __init__(self,
                 coverage_thr: float = 0.5,
                 clip_logit_scale: float = 100.,
                 seen_classes: Optional[VocabularySpec] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(clip_logit_scale, seen_classes, init_cfg)
        if coverage_thr <= 0:
            raise ValueError(f'UncoveredPixelFallback coverage_thr={coverage_thr}; it must be > 0 '
                             f'(0 would find no pixel uncovered)')
        self.coverage_thr = coverage_thr

    def forward(self, seg_scores: Tensor, dense: Tensor, class_embeddings: Tensor,
                classes: Optional[Tensor] = None) -> Tensor:
        """Replace the scores of uncovered pixels.

        Args:
            seg_scores: ``(B, C, H, W)`` semantic scores at the network input's size.
            dense: ``(B, D, h, w)`` frozen-backbone dense embeddings of the same input.
            class_embeddings: ``(K, D)`` L2-normalised class embeddings.
            classes: ``(C,)`` the classes of ``seg_scores``' channels (``None``: all ``K``);
                CLIP's softmax then runs over these classes.

        Returns:
            ``(B, C, H, W)``: covered pixels unchanged, uncovered ones CLIP's probabilities.
        """
        self.check_vocabulary(class_embeddings.shape[0])
        if classes is not None:
            class_embeddings = class_embeddings[classes]
        similarities = F.interpolate(class_similarities(dense, class_embeddings),
                                     size=seg_scores.shape[-2:], mode='bilinear',
                                     align_corners=False)
        clip_probs = (self.clip_logit_scale * similarities).softmax(dim=1).to(seg_scores.dtype)
        take = seg_scores.max(dim=1).values < self.coverage_thr
        if self.allowed is not None:
            allowed = torch.as_tensor(self.allowed, device=seg_scores.device)
            if classes is not None:
                allowed = allowed[classes]
            take &= allowed[clip_probs.argmax(dim=1)]
        return torch.where(take[:, None], clip_probs, seg_scores)
