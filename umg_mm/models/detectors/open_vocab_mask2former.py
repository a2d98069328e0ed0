"""Open-vocabulary Mask2Former for panoptic segmentation (mmdet registry)."""
from typing import Optional, Sequence, Tuple, Union

from mmdet.models.detectors import Mask2Former
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures import SampleList
from torch import Tensor

from umg_mm.structures.vocabulary import Vocabulary, join_things_stuff, load_vocabulary
from umg_mm.registry import MODELS
from ..utils import map_legacy_keys, start_classifier_logit_scale, with_clip

VocabularySpec = Union[str, Sequence, Vocabulary]
#: key prefixes of checkpoints written before the text tower had one owner: (old, new)
#: and before the pyramid neck had the stock neck slot
LEGACY_KEYS = (('panoptic_head.cls_embed.text_encoder.', 'text_encoder.'),
               ('backbone.pyramid_neck.', 'neck.'), ('backbone.pyramid_proj.', 'neck.proj.'))


@MMDET_MODELS.register_module()
class OpenVocabMask2Former(Mask2Former):
    """Mask2Former whose classes are a vocabulary of text, replaceable without retraining.

    The parts are mmdet's and umg_mm's registered modules::

        loss(images, samples)
          ├─ backbone(images)           UMGCLIPBackbone (frozen, optional LoRA) -> blocks
          └─ neck                       CLIPPyramidNeck: the blocks -> pyramid
             └─ panoptic_head.loss      OpenVocabMask2FormerHead: mmdet's pixel decoder (mmcv's
                                        MultiScaleDeformableAttention), transformer decoder,
                                        Hungarian matcher and losses; queries scored against
                                        the vocabulary's text embeddings + void

        predict(images, samples)
          ├─ backbone, neck             pyramid + dense joint-space embeddings ('dict' output)
          ├─ panoptic_head.predict      (B, Q, K + 1) logits, (B, Q, H, W) mask logits
          ├─ ensemble (optional)        VocabEnsemble: logits x mask-pooled dense embeddings
          │                             classified by CLIP (alpha for seen, beta for unseen)
          ├─ panoptic_fusion_head       mmdet's MaskFormerFusionHead -> pred_panoptic_seg
          └─ fallback (optional)        UncoveredRegionFallback: void pixels named by dense CLIP

    The model owns both towers, ``backbone`` and ``text_encoder`` (the key prefixes of every
    umg_mm model); the head's classifier keeps a reference to the text tower, not a submodule,
    so each tensor is stored once. Checkpoints written before (the text tower under
    ``panoptic_head.cls_embed.text_encoder.*``) load, their keys mapped.

    Args:
        backbone: backbone config; ``out_type='dict'`` (block and dense outputs) when an
            ``ensemble`` is used, ``'intermediates'`` otherwise.
        panoptic_head: :class:`OpenVocabMask2FormerHead` config; its classifier is handed
            ``text_encoder``.
        panoptic_fusion_head: mmdet fusion head config (``MaskFormerFusionHead``); its class
            counts are filled in from the vocabulary.
        vocabulary: ``dict(thing_classes=..., stuff_classes=...)``, each a benchmark vocabulary
            name, a vocabulary file or a list of names. Labels are the things, then the stuff
            (mmdet's panoptic convention). Replace it with :meth:`set_vocabulary` or, when a
            dataset drives the run, let :class:`~umg_mm.engine.hooks.VocabularyHook` do it.
        text_encoder: :class:`~umg_mm.models.text.UMGCLIPTextEncoder` config.
        clip: ``dict(model_name=..., checkpoint=...)``: the one place naming the CLIP model and
            weights both towers start from (see :func:`~umg_mm.models.utils.with_clip`).
        ensemble: :class:`~umg_mm.models.open_vocab.VocabEnsemble` config, or ``None`` for the
            head's scores alone.
        fallback: :class:`~umg_mm.models.open_vocab.UncoveredRegionFallback` config: labels the
            pixels no proposal covers with the dense embeddings (new classes that training left
            void); ``None`` leaves them void.
        neck: the pyramid neck (``CLIPPyramidNeck``) on the backbone's blocks.
        logit_scale_from_checkpoint: start the head classifier's temperature from the CLIP
            checkpoint's ``logit_scale`` when the text tower loaded one at construction
            (``clip.checkpoint``/``pretrained``); ``False``, or random towers: the classifier's
            ``logit_scale_init``. The value used is logged.
        train_cfg, test_cfg, data_preprocessor, init_cfg: as mmdet's ``Mask2Former``.
    """

    def __init__(self,
                 backbone: dict,
                 panoptic_head: dict,
                 panoptic_fusion_head: dict,
                 vocabulary: dict,
                 text_encoder: dict,
                 clip: Optional[dict] = None,
                 ensemble: Optional[dict] = None,
                 fallback: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 logit_scale_from_checkpoint: bool = True,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if not isinstance(vocabulary, dict) or set(vocabulary) != {'thing_classes',
                                                                  'stuff_classes'}:
            raise ValueError(f'OpenVocabMask2Former vocabulary={vocabulary!r}; give '
                             f'dict(thing_classes=..., stuff_classes=...), each a vocabulary name, '
                             f'file or list of class names')
        towers = with_clip(clip, dict(backbone=backbone, text_encoder=text_encoder))
        backbone = towers['backbone']
        text_encoder = MODELS.build(towers['text_encoder'])
        panoptic_head = panoptic_head.copy()  # mmdet deep-copies it: no module inside
        panoptic_head['classifier'] = dict(panoptic_head['classifier'],
                                           embed_dim=text_encoder.embed_dim)
        out_type = backbone.get('out_type')
        for name, part in (('ensemble', ensemble), ('fallback', fallback)):
            if part is not None and out_type != 'dict':
                raise ValueError(f"the {name} reads the backbone's dense embeddings: set the "
                                 f"backbone's out_type='dict' (got {out_type!r}) or {name}=None")
        panoptic_fusion_head = panoptic_fusion_head.copy()
        panoptic_fusion_head.update(num_things_classes=1, num_stuff_classes=0)  # set below
        super().__init__(backbone=backbone, neck=neck, panoptic_head=panoptic_head,
                         panoptic_fusion_head=panoptic_fusion_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.text_encoder = text_encoder
        classifier = self.panoptic_head.cls_embed
        classifier.set_text_encoder(text_encoder)
        start_classifier_logit_scale(self, classifier, text_encoder, logit_scale_from_checkpoint)
        map_legacy_keys(self, LEGACY_KEYS)
        self.ensemble = MODELS.build(ensemble) if ensemble is not None else None
        self.fallback = MODELS.build(fallback) if fallback is not None else None
        self.set_vocabulary(vocabulary['thing_classes'], vocabulary['stuff_classes'])

    @property
    def vocabulary(self) -> Vocabulary:
        """The current vocabulary: things, then stuff (``num_things`` gives the split)."""
        return self.panoptic_head.cls_embed.vocabulary

    def set_vocabulary(self, vocabulary: VocabularySpec,
                       stuff: Optional[VocabularySpec] = None) -> Vocabulary:
        """Segment these classes from now on; nothing is retrained. The text embeddings, the
        class counts of the head and the fusion head, the ensemble and the fallback follow.

        Args:
            vocabulary: the thing classes (countable, instances separated; labels
                ``0 .. T - 1``), anything ``load_vocabulary`` accepts; or, with ``stuff=None``,
                a whole panoptic :class:`Vocabulary` with its ``num_things`` (as
                ``model.vocabulary`` or :func:`~umg_mm.structures.join_things_stuff` gives).
            stuff: the stuff classes (amorphous; labels ``T .. T + S - 1``).

        Returns:
            The panoptic vocabulary, things then stuff.
        """
        if stuff is not None:
            vocabulary = join_things_stuff(vocabulary, stuff)
        else:
            vocabulary = load_vocabulary(vocabulary)
            if vocabulary.num_things is None:
                raise ValueError(f'OpenVocabMask2Former.set_vocabulary({vocabulary.source!r}): a '
                                 f'panoptic model needs to know which classes are stuff; give '
                                 f'set_vocabulary(things, stuff) or a vocabulary with its split '
                                 f'(join_things_stuff)')
        vocabulary = self.panoptic_head.set_vocabulary(vocabulary)
        for module in (self, self.panoptic_fusion_head):
            module.num_things_classes = len(vocabulary.things)
            module.num_stuff_classes = len(vocabulary.stuff)
            module.num_classes = len(vocabulary)
        for part in (self.ensemble, self.fallback):
            if part is not None:
                part.set_vocabulary(vocabulary)
        return vocabulary

    def _features(self, batch_inputs: Tensor) -> Tuple[Tuple[Tensor, ...], Optional[Tensor]]:
        """Pyramid features for the head, and the dense embeddings when the backbone gives them.

        Returns:
            ``(feats, dense)``: the (neck's) pyramid levels ``(B, C_i, H_i, W_i)`` and ``dense``
            ``(B, D, h, w)`` or ``None``.
        """
        out = self.backbone(batch_inputs)
        feats = self.neck(out) if self.with_neck else out
        return feats, out.get('dense') if isinstance(out, dict) else None

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """The pyramid features the head reads (``(B, C_i, H_i, W_i)`` per level)."""
        return self._features(batch_inputs)[0]

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Panoptic (and, per ``test_cfg``, instance/semantic) predictions over the vocabulary.

        Args:
            batch_inputs: ``(B, 3, H, W)`` normalised images.
            batch_data_samples: their ``DetDataSample``s (meta information).
            rescale: rescale the results to the original image size.

        Returns:
            The data samples with ``pred_panoptic_seg`` (``sem_seg`` of shape ``(1, h, w)``: label
            ``+ instance * INSTANCE_OFFSET``, ``num_classes`` for void) and, when enabled,
            ``pred_instances`` / ``pred_sem_seg``.
        """
        feats, dense = self._features(batch_inputs)
        mask_cls, mask_pred = self.panoptic_head.predict(feats, batch_data_samples)
        if self.ensemble is not None:
            mask_cls = self.ensemble(mask_cls, dense, mask_pred,
                                     self.panoptic_head.cls_embed.class_embeddings())
        results_list = self.panoptic_fusion_head.predict(
            mask_cls, mask_pred, batch_data_samples, rescale=rescale)
        if self.fallback is not None:
            self._fill_uncovered(results_list, dense, batch_data_samples)
        return self.add_pred_to_datasample(batch_data_samples, results_list)

    def _fill_uncovered(self, results_list: list, dense: Tensor,
                        batch_data_samples: SampleList) -> None:
        """Apply the fallback to each ``pan_results`` in place (``dense``: ``(B, D, h, w)``); the
        map may be at the original or the resized image size, the scores follow it."""
        class_embeddings = self.panoptic_head.cls_embed.class_embeddings()
        for i, (result, sample) in enumerate(zip(results_list, batch_data_samples)):
            if 'pan_results' not in result:
                continue
            meta = sample.metainfo
            pan = result['pan_results'].sem_seg
            pan[0] = self.fallback(pan[0], dense[i], class_embeddings, self.num_things_classes,
                                   img_shape=meta['img_shape'][:2],
                                   pad_shape=meta['batch_input_shape'])
