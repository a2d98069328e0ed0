"""mmdet's Mask2Former head with an open-vocabulary classifier instead of its class layer."""
import copy

from mmdet.models.dense_heads import Mask2FormerHead
from mmdet.registry import MODELS as MMDET_MODELS

from umg_mm.structures.vocabulary import Vocabulary
from umg_mm.registry import MODELS


@MMDET_MODELS.register_module()
class OpenVocabMask2FormerHead(Mask2FormerHead):
    """Mask2Former panoptic head whose queries are classified against text embeddings.

    Everything but the classification layer is mmdet's :class:`Mask2FormerHead` (pixel decoder,
    masked-attention transformer decoder, Hungarian matcher, point-sampled mask and dice losses).
    ``cls_embed`` is an :class:`~umg_mm.models.heads.OpenVocabClassifier`: ``(B, Q, C)`` queries
    to ``(B, Q, K + 1)`` logits over the current vocabulary plus void, so the number of classes
    follows :meth:`set_vocabulary` rather than the config.

    Args:
        classifier: config of the :class:`OpenVocabClassifier` (``in_channels`` is filled in with
            ``feat_channels``; ``embed_dim`` and, with ``set_text_encoder``, the text tower that
            embeds the vocabulary by the detector that owns the tower).
        void_weight: weight of the void class in the classification loss (Mask2Former: 0.1); the
            other classes weigh 1. The loss's ``class_weight`` is rebuilt for every vocabulary.
        loss_cls: mmdet's classification loss config, without ``class_weight``.
        **kwargs: the other arguments of mmdet's ``Mask2FormerHead`` (``in_channels``,
            ``feat_channels``, ``pixel_decoder``, ``transformer_decoder``, ``loss_mask``, ...),
            except ``num_things_classes`` and ``num_stuff_classes``, which come from the
            vocabulary.
    """

    def __init__(self,
                 classifier: dict,
                 void_weight: float = 0.1,
                 loss_cls: dict = dict(
                     type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0,
                     reduction='mean'),
                 **kwargs):
        for key in ('num_things_classes', 'num_stuff_classes'):
            if kwargs.get(key) is not None:
                raise ValueError(f'OpenVocabMask2FormerHead takes its classes from the vocabulary; '
                                 f'remove {key}={kwargs[key]} from the head config and set the '
                                 f"detector's vocabulary=dict(thing_classes=..., stuff_classes=...)")
            kwargs.pop(key, None)
        if loss_cls.get('class_weight') is not None:
            raise ValueError('OpenVocabMask2FormerHead builds loss_cls.class_weight for each '
                             'vocabulary (1 per class, void_weight for void); remove class_weight '
                             'from loss_cls and set void_weight instead')
        loss_cls = copy.deepcopy(loss_cls)
        loss_cls['class_weight'] = None
        # a one-class placeholder; the classification layer is replaced right after
        super().__init__(num_things_classes=1, num_stuff_classes=0, loss_cls=loss_cls, **kwargs)
        del self.cls_embed
        self.cls_embed = MODELS.build(
            dict(classifier, in_channels=self.query_feat.embedding_dim))
        self.void_weight = void_weight

    def set_vocabulary(self, vocabulary: Vocabulary) -> Vocabulary:
        """Classify over ``vocabulary``'s things then stuff from now on (labels ``0..K-1``,
        void ``K``); the detector's :meth:`set_vocabulary` calls it.

        Args:
            vocabulary: a panoptic vocabulary (``num_things`` set, things first).

        Returns:
            ``vocabulary``.
        """
        self.cls_embed.set_vocabulary(vocabulary)
        self.num_things_classes = len(vocabulary.things)
        self.num_stuff_classes = len(vocabulary.stuff)
        self.num_classes = len(vocabulary)
        self.class_weight = [1.0] * self.num_classes + [self.void_weight]
        self.loss_cls.class_weight = self.class_weight
        return vocabulary

