"""In-vocabulary / out-of-vocabulary ensemble of mask-classification scores (FC-CLIP's idea).

A mask-classification head trained on a set of classes ("in-vocabulary" scores) is confident on
those classes and weak on classes it never saw. The frozen CLIP backbone's dense embeddings,
average-pooled inside each predicted mask and compared with the same class embeddings
("out-of-vocabulary" scores), know every class CLIP knows, but localise less well. Their geometric
mean, weighted per class,

    p(k) ∝ p_in(k) ** (1 - a_k) * p_out(k) ** a_k,   a_k = alpha if k was seen in training else beta,

keeps the head's strength on seen classes (small ``alpha``) and leans on CLIP for the others
(larger ``beta``). The void probability of the head is kept as it is; the class probabilities
share the rest.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from umg_mm.structures.seen_classes import SeenClasses
from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary
from umg_mm.registry import MODELS
from .similarity import masked_average_pool

VocabularySpec = Union[str, Sequence, Vocabulary]


@MODELS.register_module()
class VocabEnsemble(BaseModule):
    """Geometric ensemble of a head's class probabilities with mask-pooled CLIP ones.

    Args:
        alpha: weight of the out-of-vocabulary (CLIP) probabilities for classes seen in training.
        beta: the same weight for classes not seen in training.
        seen_classes: the classes the head was trained on (a benchmark name, a vocabulary file
            or a list of names). A class of the current vocabulary counts as seen when one of its
            names is one of theirs (:class:`~umg_mm.structures.SeenClasses`).
            ``None``: every class counts as seen (``alpha`` for all).
        clip_logit_scale: inverse temperature of the out-of-vocabulary softmax (CLIP's 100).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 alpha: float = 0.4,
                 beta: float = 0.8,
                 seen_classes: Optional[VocabularySpec] = None,
                 clip_logit_scale: float = 100.,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('alpha', alpha), ('beta', beta)):
            if not 0. <= value <= 1.:
                raise ValueError(f'VocabEnsemble {name}={value}; it must lie in [0, 1] '
                                 f'(0: head only, 1: CLIP only)')
        self.alpha = alpha
        self.beta = beta
        self.clip_logit_scale = clip_logit_scale
        self.seen_classes = SeenClasses.build(seen_classes)
        self.register_buffer('seen_mask', torch.zeros(0, dtype=torch.bool), persistent=False)

    def set_vocabulary(self, vocabulary: VocabularySpec) -> torch.Tensor:
        """Mark which classes of ``vocabulary`` were seen in training.

        Returns:
            ``(K,)`` bool, True for seen classes.
        """
        vocabulary = load_vocabulary(vocabulary)
        seen = [True] * len(vocabulary) if self.seen_classes is None else \
            self.seen_classes.mask(vocabulary).tolist()
        self.seen_mask = torch.tensor(seen, dtype=torch.bool, device=self.seen_mask.device)
        return self.seen_mask

    def out_vocab_probs(self, dense: torch.Tensor, mask_logits: torch.Tensor,
                        class_embeddings: torch.Tensor) -> torch.Tensor:
        """CLIP's class probabilities of each mask.

        Args:
            dense: ``(B, D, h, w)`` frozen-backbone dense embeddings in the joint space.
            mask_logits: ``(B, Q, H, W)`` mask logits.
            class_embeddings: ``(K, D)`` L2-normalised class embeddings.

        Returns:
            ``(B, Q, K)`` probabilities (softmax over the ``K`` classes).
        """
        pooled = F.normalize(masked_average_pool(dense, mask_logits), dim=-1)
        logits = self.clip_logit_scale * pooled @ class_embeddings.to(pooled.dtype).t()
        return logits.softmax(dim=-1)

    def forward(self, cls_logits: torch.Tensor, dense: torch.Tensor, mask_logits: torch.Tensor,
                class_embeddings: torch.Tensor) -> torch.Tensor:
        """Ensemble the head's logits with CLIP's mask-pooled probabilities.

        Args:
            cls_logits: ``(B, Q, K + 1)`` head logits, the last one the void class.
            dense: ``(B, D, h, w)`` frozen-backbone dense embeddings.
            mask_logits: ``(B, Q, H, W)`` mask logits of the same queries.
            class_embeddings: ``(K, D)`` class embeddings of the current vocabulary.

        Returns:
            ``(B, Q, K + 1)`` log-probabilities (their softmax is the ensembled distribution, so
            they can stand in for logits downstream).
        """
        num_classes = class_embeddings.shape[0]
        if cls_logits.shape[-1] != num_classes + 1:
            raise ValueError(f'VocabEnsemble: head logits have {cls_logits.shape[-1]} classes, '
                             f'expected {num_classes} + 1 void for the current vocabulary')
        if self.seen_mask.numel() != num_classes:
            raise RuntimeError(f'VocabEnsemble knows {self.seen_mask.numel()} classes but the '
                               f'vocabulary has {num_classes}; call set_vocabulary(...) after '
                               f'changing the vocabulary')
        p_in = cls_logits.softmax(dim=-1)
        p_void = p_in[..., -1:]
        p_out = self.out_vocab_probs(dense, mask_logits, class_embeddings)
        weight = torch.where(self.seen_mask.to(p_in.device), self.alpha, self.beta).to(p_in.dtype)
        log_geo = (1 - weight) * p_in[..., :-1].clamp_min(1e-12).log() + \
            weight * p_out.clamp_min(1e-12).log()
        p_cls = log_geo.softmax(dim=-1) * (1 - p_void)
        return torch.cat([p_cls, p_void], dim=-1).clamp_min(1e-12).log()
