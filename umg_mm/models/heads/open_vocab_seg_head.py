"""mmseg's Mask2Former head with an open-vocabulary classifier: raw class and mask logits."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.config import ConfigDict
from mmseg.models.decode_heads import Mask2FormerHead
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, SampleList
from torch import Tensor, nn

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary
from ..open_vocab.similarity import mask_class_scores

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

    The head trains and emits raw class and mask logits (:meth:`query_logits`); the
    open-vocabulary post-processing (FC-CLIP's ensemble, the uncovered-pixel fallback) is the
    segmentor's (:class:`~umg_mm.models.segmentors.OpenVocabEncoderDecoder`, with the parts of
    :mod:`umg_mm.models.open_vocab`), as it is the detector's in the panoptic model.

    Args:
        classifier: config of the ``OpenVocabClassifier`` (``templates``, ``logit_scale_init``,
            ...); ``in_channels`` is set to ``feat_channels``.
        text_encoder: the segmentor's ``UMGCLIPTextEncoder`` module, handed on to the
            classifier (which keeps a reference, not a submodule: keys stay ``text_encoder.*``).
        vocabulary: the initial vocabulary (name, file or list); the segmentor switches it
            between its training and test vocabularies with :meth:`set_vocabulary`.
        void_weight: classification-loss weight of the void class (Mask2Former's 0.1).
        **kwargs: mmseg ``Mask2FormerHead``'s arguments except ``num_classes``.

    Inputs of :meth:`forward`, :meth:`loss` and :meth:`predict`: ``UMGCLIPBackbone``'s
    ``out_type='dict'`` output ``{'pyramid': tuple of (B, C_i, H_i, W_i), 'dense':
    (B, D, h, w), ...}`` (or a plain tuple of levels).
    """

    def __init__(self,
                 classifier: ConfigType,
                 text_encoder: nn.Module,
                 vocabulary: Union[str, Sequence, Vocabulary],
                 void_weight: float = 0.1,
                 **kwargs):
        moved = sorted({'ensemble', 'fallback'} & set(kwargs))
        if moved:
            raise ValueError(f'OpenVocabMask2FormerSegHead: {moved} moved to the segmentor; write '
                             f'model=dict(ensemble=..., fallback=...) instead of '
                             f'decode_head=dict(ensemble=..., fallback=...)')
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
        self.void_weight = void_weight
        self.vocabulary: Optional[Vocabulary] = None
        self.set_vocabulary(vocabulary)

    def set_vocabulary(self, vocabulary: Union[str, Sequence, Vocabulary]) -> Vocabulary:
        """Classify over ``vocabulary`` from now on (no retraining; embeddings are cached).

        Updates the classifier, ``num_classes`` / ``out_channels`` (the void label of the
        matcher is ``num_classes``) and the
        classification loss's class weights.

        Returns:
            The loaded :class:`Vocabulary`.
        """
        vocabulary = load_vocabulary(vocabulary)
        if vocabulary == self.vocabulary:
            return vocabulary
        self.vocabulary = self.cls_embed.set_vocabulary(vocabulary)
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

    def query_logits(self, x: FeaturesType,
                     batch_img_metas: List[dict]) -> Tuple[Tensor, Tensor]:
        """The last decoder layer's raw outputs.

        Returns:
            ``(cls_logits, mask_logits)``: ``(B, Q, K + 1)`` class logits (the last is void) and
            ``(B, Q, H_0, W_0)`` mask logits.
        """
        samples = [SegDataSample(metainfo=meta) for meta in batch_img_metas]
        all_cls_scores, all_mask_preds = self(x, samples)
        return all_cls_scores[-1], all_mask_preds[-1]

    def predict(self, x: FeaturesType, batch_img_metas: List[dict],
                test_cfg: ConfigType) -> Tensor:
        """Semantic scores of the head alone: class probabilities times mask probabilities,
        summed over queries (the segmentor post-processes :meth:`query_logits` instead when it
        has an ensemble or a fallback).

        Args:
            x: backbone output (see the class docstring).
            batch_img_metas: image metas (:func:`output_size` gives the output size).
            test_cfg: the segmentor's test config (unused here).

        Returns:
            ``(B, K, H, W)`` scores at the input size, ``K`` the current vocabulary's size.
        """
        cls_logits, mask_logits = self.query_logits(x, batch_img_metas)
        return mask_class_scores(cls_logits.softmax(dim=-1)[..., :-1], mask_logits,
                                 output_size(batch_img_metas[0]))
