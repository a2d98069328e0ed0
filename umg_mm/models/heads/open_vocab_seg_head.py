"""mmseg's Mask2Former head with an open-vocabulary classifier and the FC-CLIP ensemble."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmseg.models.decode_heads import Mask2FormerHead
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, SampleList
from torch import Tensor, nn

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary
from .candidate_classes import map_candidates, mixture_candidates
from .uncovered_fallback import class_similarities

FeaturesType = Union[Dict[str, Tensor], Sequence[Tensor]]


def pyramid_of(x: FeaturesType) -> Sequence[Tensor]:
    """The multi-level features of a backbone output (``UMGCLIPBackbone``'s dict or a tuple)."""
    if isinstance(x, dict):
        if 'pyramid' not in x:
            raise KeyError(f'the backbone returned {sorted(x)} but the head needs "pyramid"; '
                           f"give the model a neck (CLIPPyramidNeck) on UMGCLIPBackbone's blocks")
        return x['pyramid']
    return x


def output_size(img_meta: dict) -> Tuple[int, int]:
    """Size of the head's score maps: the network input's (``batch_input_shape``, set by
    ``OpenVocabEncoderDecoder.encode_decode``), else ``pad_shape``, else ``img_shape``."""
    for key in ('batch_input_shape', 'pad_shape', 'img_shape'):
        if key in img_meta:
            return tuple(img_meta[key][:2])
    raise KeyError(f'image meta without batch_input_shape, pad_shape or img_shape: '
                   f'{sorted(img_meta)}')


@MODELS.register_module()
class OpenVocabMask2FormerSegHead(Mask2FormerHead):
    """Mask2Former head for semantic segmentation over a swappable vocabulary.

    mmseg's ``Mask2FormerHead`` (which wraps mmdet's: pixel decoder, masked-attention decoder,
    Hungarian matching, point-sampled mask losses) with its ``cls_embed`` layer replaced by an
    :class:`~umg_mm.models.heads.OpenVocabClassifier`: query embeddings are scored against the
    text embeddings of the current vocabulary plus a learned void (no-object) embedding, so the
    head has no layer whose size depends on the number of classes. The classification loss's
    ``class_weight`` (1.0 per class, ``void_weight`` for void) is rebuilt for each vocabulary.

    At test time the head's class probabilities can be combined with the frozen backbone's own
    dense zero-shot prediction (FC-CLIP's in/out-of-vocabulary geometric ensemble,
    :class:`~umg_mm.models.heads.VocabEnsemble`): the dense embeddings are pooled in each query's
    mask and classified against the same class embeddings.

    Args:
        classifier: config of the ``OpenVocabClassifier`` (``templates``, ``logit_scale_init``,
            ...); ``in_channels`` is set to ``feat_channels``.
        text_encoder: the segmentor's ``UMGCLIPTextEncoder`` module, handed on to the
            classifier (which keeps a reference, not a submodule: keys stay ``text_encoder.*``).
        vocabulary: the initial vocabulary (name, file or list); the segmentor switches it
            between its training and test vocabularies with :meth:`set_vocabulary`.
        ensemble: config of the ``VocabEnsemble`` (``alpha``, ``beta``, ``seen_classes``) used
            in :meth:`predict`; ``None`` predicts from the head alone. Needs the backbone's
            ``'dense'`` output.
        fallback: config of an ``UncoveredPixelFallback`` (``coverage_thr``, ``seen_classes``):
            pixels no query covers take the dense embeddings' CLIP probabilities (classes that
            training left void); ``None`` keeps the head's scores. Needs ``'dense'`` too.
        void_weight: classification-loss weight of the void class (Mask2Former's 0.1).
        **kwargs: mmseg ``Mask2FormerHead``'s arguments except ``num_classes``.

    Inputs of :meth:`forward`, :meth:`loss` and :meth:`predict`: ``UMGCLIPBackbone``'s
    ``out_type='dict'`` output ``{'pyramid': tuple of (B, C_i, H_i, W_i), 'dense':
    (B, D, h, w), ...}`` (or a plain tuple of levels, without ensemble).
    """

    def __init__(self,
                 classifier: ConfigType,
                 text_encoder: nn.Module,
                 vocabulary: Union[str, Sequence, Vocabulary],
                 ensemble: Optional[ConfigType] = None,
                 fallback: Optional[ConfigType] = None,
                 void_weight: float = 0.1,
                 **kwargs):
        if 'num_classes' in kwargs:
            raise ValueError('OpenVocabMask2FormerSegHead takes its classes from vocabulary=...; '
                             f'remove num_classes={kwargs["num_classes"]} from its config')
        vocabulary = load_vocabulary(vocabulary)
        if 'loss_cls' in kwargs:  # mmdet's head reads class_weight at construction
            kwargs['loss_cls'] = ConfigDict(kwargs['loss_cls'],
                                            class_weight=[1.0] * len(vocabulary) + [void_weight])
        super().__init__(num_classes=len(vocabulary), **kwargs)
        classifier = dict(classifier, in_channels=kwargs['feat_channels'],
                          embed_dim=text_encoder.embed_dim)
        self.cls_embed = MODELS.build(classifier)  # replaces Linear(feat_channels, K + 1)
        self.cls_embed.set_text_encoder(text_encoder)
        self.ensemble = MODELS.build(ensemble) if ensemble is not None else None
        self.fallback = MODELS.build(fallback) if fallback is not None else None
        self.void_weight = void_weight
        self.vocabulary: Optional[Vocabulary] = None
        self.set_vocabulary(vocabulary)

    def set_vocabulary(self, vocabulary: Union[str, Sequence, Vocabulary]) -> Vocabulary:
        """Classify over ``vocabulary`` from now on (no retraining; embeddings are cached).

        Updates the classifier, the ensemble's seen-class mask, ``num_classes`` /
        ``out_channels`` (the void label of the matcher is ``num_classes``) and the
        classification loss's class weights.

        Returns:
            The loaded :class:`Vocabulary`.
        """
        vocabulary = load_vocabulary(vocabulary)
        if vocabulary == self.vocabulary:
            return vocabulary
        self.vocabulary = self.cls_embed.set_vocabulary(vocabulary)
        for part in (self.ensemble, self.fallback):
            if part is not None:
                part.set_vocabulary(vocabulary)
        self.num_classes = self.out_channels = len(vocabulary)
        self.class_weight = [1.0] * len(vocabulary) + [self.void_weight]
        self.loss_cls.class_weight = self.class_weight
        return vocabulary

    def forward(self, x: FeaturesType,
                batch_data_samples: SampleList) -> Tuple[List[Tensor], List[Tensor]]:
        """Run the Mask2Former head on the backbone's pyramid.

        Returns:
            ``(cls_scores, mask_preds)``, one per decoder layer: ``(B, Q, K + 1)`` logits (the
            last is void) and ``(B, Q, H_0, W_0)`` mask logits at the finest level's size.
        """
        return super().forward(list(pyramid_of(x)), batch_data_samples)

    def query_predictions(self, x: FeaturesType,
                          batch_img_metas: List[dict]) -> Tuple[Tensor, Tensor]:
        """The last decoder layer's ``(B, Q, K)`` class probabilities (void dropped; ensembled
        when configured) and ``(B, Q, H_0, W_0)`` mask logits."""
        samples = [SegDataSample(metainfo=meta) for meta in batch_img_metas]
        all_cls_scores, all_mask_preds = self(x, samples)
        cls_logits, mask_logits = all_cls_scores[-1], all_mask_preds[-1]
        for name, part in (('ensemble', self.ensemble), ('fallback', self.fallback)):
            if part is not None and (not isinstance(x, dict) or 'dense' not in x):
                raise KeyError(f"the {name} needs the backbone's dense embeddings; build "
                               f"UMGCLIPBackbone with out_type='dict' or set {name}=None")
        if self.ensemble is not None:
            cls_logits = self.ensemble(cls_logits, x['dense'], mask_logits,
                                       self.cls_embed.class_embeddings())
        return cls_logits.softmax(dim=-1)[..., :-1], mask_logits

    def class_scores(self, x: FeaturesType, cls_probs: Tensor, mask_logits: Tensor,
                     size: tuple, classes: Optional[Tensor] = None) -> Tensor:
        """``(B, C, H, W)`` scores of ``classes`` (all when ``None``) at ``size``."""
        mask_probs = F.interpolate(mask_logits, size=size, mode='bilinear',
                                   align_corners=False).sigmoid()
        if classes is not None:
            cls_probs = cls_probs[..., classes]
        scores = torch.einsum('bqc,bqhw->bchw', cls_probs, mask_probs)
        if self.fallback is not None:
            scores = self.fallback(scores, x['dense'], self.cls_embed.class_embeddings(),
                                   classes=classes)
        return scores

    def predict(self, x: FeaturesType, batch_img_metas: List[dict],
                test_cfg: ConfigType) -> Tensor:
        """Semantic logits: class probabilities times mask probabilities, summed over queries.

        Args:
            x: backbone output (see the class docstring).
            batch_img_metas: image metas (:func:`output_size` gives the output size).
            test_cfg: the segmentor's test config (unused here).

        Returns:
            ``(B, K, H, W)`` scores at the input size, ``K`` the current vocabulary's size.
        """
        cls_probs, mask_logits = self.query_predictions(x, batch_img_metas)
        return self.class_scores(x, cls_probs, mask_logits, output_size(batch_img_metas[0]))

    def candidate_classes(self, x: FeaturesType, cls_probs: Tensor, mask_logits: Tensor,
                          chunk: int = 128) -> Tensor:
        """The classes that can win a pixel of :meth:`predict`'s scores, bilinearly resized.

        Found at the masks' resolution
        (:func:`~umg_mm.models.heads.candidate_classes.mixture_candidates`, and
        :func:`map_candidates` of the fallback's CLIP similarities), ``chunk`` classes at a time:
        the argmax over them is the argmax over the whole vocabulary. With a fallback, CLIP's
        softmax then runs over the candidates (its argmax is unchanged).

        Args:
            x: backbone output.
            cls_probs, mask_logits: :meth:`query_predictions`' outputs.

        Returns:
            ``(C,)`` int64 class indices, ascending; ``C >= 2`` when the vocabulary has two
            classes or more (mmseg's post-processing reads one channel as a binary map).
        """
        keep = mixture_candidates(cls_probs, mask_logits.sigmoid(), chunk)
        if self.fallback is not None:
            similarities = class_similarities(x['dense'], self.cls_embed.class_embeddings())
            keep |= map_candidates(similarities, chunk)
        if int(keep.sum()) < 2:
            keep[cls_probs.sum(dim=(0, 1)).topk(min(2, keep.numel())).indices] = True
        return keep.nonzero().flatten()
