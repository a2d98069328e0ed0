"""Name the pixels no mask proposal covers with the frozen backbone's dense CLIP embeddings.

A Mask2Former trained on seen classes only learns to leave everything else out of its masks: in
training, pixels of classes outside the vocabulary are void, i.e. background of every ground-truth
mask. At test time the regions of new classes come out void, and no classifier ensemble can name a
region that no proposal covers. The frozen UMG-CLIP still knows them (its pixel-text alignment was
trained on every class), so this fallback labels the void pixels of a panoptic prediction by their
dense embeddings:

1. each void pixel takes the class whose text embedding its dense embedding is closest to;
2. the void pixels of each stuff class, and the void pixels closest to any thing class together,
   are split into connected components; components smaller than ``min_area`` pixels are dropped;
3. each component is classified by its pooled similarities (the mean, inside it, of every class's
   pixel similarity, i.e. the normalised embeddings pooled as region-text alignment pools them):
   a thing component as the most similar thing class, a stuff one keeps its class; it is kept when
   that class's probability (softmax over the vocabulary) is at least ``score_thr``;
4. a thing component becomes a new instance, a stuff component joins its class's stuff segment.

Pixels already covered by a proposal are never changed. With ``seen_classes`` (the training
vocabulary), components named as a seen class stay void: the trained proposals already segment
those classes, and a void patch beside one is a proposal's margin, not a missed object.
"""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmengine.model import BaseModule
from torch import Tensor

from umg_mm.datasets.vocabulary import Vocabulary, load_vocabulary, seen_class_mask
from umg_mm.registry import MODELS

VocabularySpec = Union[str, Sequence, Vocabulary]


def dense_class_scores(dense: Tensor, class_embeddings: Tensor, img_shape: Tuple[int, int],
                       pad_shape: Tuple[int, int], out_shape: Tuple[int, int]) -> Tensor:
    """Cosine similarity of each pixel's dense embedding with each class, at the output size.

    Args:
        dense: ``(D, h, w)`` dense embeddings of the padded input.
        class_embeddings: ``(K, D)`` L2-normalised class embeddings.
        img_shape: ``(H_img, W_img)`` of the image inside the padded input.
        pad_shape: ``(H_pad, W_pad)`` of the padded input.
        out_shape: ``(H_out, W_out)`` of the panoptic map.

    Returns:
        ``(K, H_out, W_out)`` similarities in ``[-1, 1]``.
    """
    dense = F.normalize(dense.float(), dim=0)
    scores = torch.einsum('dhw,kd->khw', dense, class_embeddings.float())[None]
    scores = F.interpolate(scores, size=pad_shape, mode='bilinear', align_corners=False)
    scores = scores[..., :img_shape[0], :img_shape[1]]
    return F.interpolate(scores, size=out_shape, mode='bilinear', align_corners=False)[0]


@MODELS.register_module()
class UncoveredRegionFallback(BaseModule):
    """Label the void pixels of a panoptic map with dense CLIP (see the module docstring).

    Args:
        min_area: smallest component kept, in pixels of the output map.
        score_thr: smallest mask-pooled CLIP probability (softmax over the vocabulary at
            ``clip_logit_scale``) of a component's class for it to be kept.
        clip_logit_scale: inverse temperature of that softmax (CLIP's 100).
        seen_classes: the classes the proposals were trained on (a benchmark name, a vocabulary
            file or a list of names, matched as :func:`seen_class_mask` does); components named
            as one of them stay void. ``None``: every class may fill a void region.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 min_area: int = 16,
                 score_thr: float = 0.,
                 clip_logit_scale: float = 100.,
                 seen_classes: Optional[VocabularySpec] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if min_area < 1:
            raise ValueError(f'UncoveredRegionFallback min_area={min_area}; it must be >= 1 pixel')
        if not 0. <= score_thr <= 1.:
            raise ValueError(f'UncoveredRegionFallback score_thr={score_thr}; it is a '
                             f'probability in [0, 1]')
        self.min_area = min_area
        self.score_thr = score_thr
        self.clip_logit_scale = clip_logit_scale
        self.seen_classes = None if seen_classes is None else load_vocabulary(seen_classes)
        self.allowed = None  # (K,) bool: classes that may fill void regions; set_vocabulary

    def set_vocabulary(self, vocabulary: VocabularySpec) -> Optional[np.ndarray]:
        """Mark the classes of ``vocabulary`` that may fill void regions (the unseen ones).

        Returns:
            ``(K,)`` bool array, or ``None`` when every class may (no ``seen_classes``).
        """
        self.allowed = None if self.seen_classes is None else \
            ~seen_class_mask(vocabulary, self.seen_classes)
        return self.allowed

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
        if self.seen_classes is not None and (self.allowed is None or
                                              len(self.allowed) != num_classes):
            known = 0 if self.allowed is None else len(self.allowed)
            raise RuntimeError(f'UncoveredRegionFallback knows {known} classes but the '
                               f'vocabulary has {num_classes}; call set_vocabulary(...) after '
                               f'changing the vocabulary')
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
            count, components = cv2.connectedComponents(
                region.cpu().numpy().astype(np.uint8), connectivity=4)
            components = torch.from_numpy(components).to(pan_seg.device)
            for index in range(1, count):
                component = components == index
                if int(component.sum()) < self.min_area:
                    continue
                pooled = (scores * component).sum(dim=(1, 2)) / component.sum()
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
