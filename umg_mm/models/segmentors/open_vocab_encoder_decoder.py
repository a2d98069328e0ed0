"""mmseg's EncoderDecoder over a training vocabulary and a swappable test vocabulary."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, OptSampleList, SampleList
from torch import Tensor

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary, refuse_stuff
from ..heads.open_vocab_seg_head import output_size
from ..open_vocab import class_similarities, map_candidates, mask_class_scores, mixture_candidates
from ..utils import map_legacy_keys, start_classifier_logit_scale, with_clip

VocabularySpec = Union[str, Sequence, Vocabulary]
#: key prefixes of checkpoints written before the text tower had one owner: (old, new)
#: and before the pyramid neck had the stock neck slot
LEGACY_KEYS = (('decode_head.text_encoder.', 'text_encoder.'), ('backbone.pyramid_neck.', 'neck.'),
               ('backbone.pyramid_proj.', 'neck.proj.'))


@MODELS.register_module()
class OpenVocabEncoderDecoder(EncoderDecoder):
    """Open-vocabulary encoder-decoder: train on one vocabulary, test on any.

    The layout of mmseg's ``EncoderDecoder`` with a text encoder, as ``MultimodalEncoderDecoder``:

    * ``backbone``: ``UMGCLIPBackbone`` with ``out_type='dict'``, frozen (optionally LoRA):
      ``{'intermediates': block maps, 'dense': (B, D, h, w) joint-space embeddings for the
      zero-shot ensemble, 'global': (B, D)}``;
    * ``neck``: ``CLIPPyramidNeck`` (the stock slot): the block maps to the pyramid the head
      reads (:meth:`extract_feat` adds it as ``'pyramid'``);
    * ``text_encoder``: ``UMGCLIPTextEncoder``, frozen, owned here (its weights are stored once,
      under ``text_encoder.*``); it embeds each vocabulary once (cached) and is handed to the
      head, whose classifier keeps a reference. The towers keep the names ``backbone`` and
      ``text_encoder``, as in every umg_mm model, so a umg_mm pretraining checkpoint (or the
      output of ``tools/convert_open_clip.py to-umg``) loads with ``load_from`` or
      ``tools/test.py``; a checkpoint written before the text tower had one owner and the neck
      its own slot (keys ``decode_head.text_encoder.*``, ``backbone.pyramid_neck.*``) loads
      too, its keys mapped.
    * ``decode_head``: a head with ``set_vocabulary`` whose classifier is the text embedding of
      the current vocabulary: ``OpenVocabMask2FormerSegHead`` (trained; raw class and mask
      logits) or ``DenseZeroShotHead`` (training-free);
    * ``ensemble``, ``fallback``: the open-vocabulary post-processing of the mask head's logits
      at test time (:mod:`umg_mm.models.open_vocab`, as in the panoptic detector).

    The head classifies over ``train_vocabulary`` in :meth:`loss` and over :attr:`vocabulary`
    (set by :meth:`set_vocabulary`) in :meth:`predict` and :meth:`_forward`; ``num_classes``
    and ``out_channels`` follow the
    vocabulary in use, so mmseg's whole and sliding-window inference work unchanged.

    1. ``loss``: the head classifies over the training vocabulary.

    .. code:: text

     loss(): use train_vocabulary -> EncoderDecoder.loss()
     EncoderDecoder.loss(): extract_feat() -> decode_head.loss()

    2. ``predict``: the head classifies over the test vocabulary.

    .. code:: text

     predict(): use vocabulary -> EncoderDecoder.predict()
     EncoderDecoder.predict(): inference() -> postprocess_result()
     inference(): whole_inference() / slide_inference()
     whole_inference() / slide_inference(): encode_decode()
     encode_decode(): extract_feat() -> decode_head.query_logits()
                      -> ensemble -> class x mask scores -> fallback

    By default (whole-image inference, a mask head with ``query_logits``) ``predict`` gives
    ``pred_sem_seg`` only, computed over the classes that can win a pixel (found at the masks'
    resolution): its time and memory do not grow with the vocabulary beyond the ``(Q, K)``
    query scores, with the label map of the full ``(K, H, W)`` logits. ``test_cfg.output_logits
    = True`` (and sliding-window inference) keeps mmseg's contract: ``seg_logits`` ``(K, H, W)``
    and ``pred_sem_seg``.

    3. ``_forward``: ``extract_feat() -> decode_head.forward()`` over the test vocabulary.

    Args:
        text_encoder: config of the ``UMGCLIPTextEncoder``, passed to the head as
            ``text_encoder``.
        clip: ``dict(model_name=..., checkpoint=...)``: the one place naming the CLIP model and
            weights both towers start from (see :func:`~umg_mm.models.utils.with_clip`).
        train_vocabulary: the classes of the training label maps, in label order (a shipped
            name such as ``'coco_stuff_171'``, a vocabulary file or a list). ``None`` for a
            model that is never trained (``DenseZeroShotHead``).
        test_vocabulary: the classes predicted until :meth:`set_vocabulary` (which
            ``VocabularyHook`` calls with the evaluated dataset's vocabulary) replaces them.
            ``None`` (the default): the training vocabulary.
        ensemble: config of a ``VocabEnsemble`` (``alpha``, ``beta``, ``seen_classes``): the
            mask head's class probabilities combined with the frozen CLIP's mask-pooled ones;
            ``None``: the head's alone. Needs the backbone's ``'dense'`` output.
        fallback: config of an ``UncoveredPixelFallback`` (``coverage_thr``, ``seen_classes``):
            pixels no query covers take the dense embeddings' CLIP probabilities (classes that
            training left void); ``None`` keeps the scores. Needs ``'dense'`` too.
        logit_scale_from_checkpoint: start the head classifier's temperature from the CLIP
            checkpoint's ``logit_scale`` when the text tower loaded one at construction
            (``clip.checkpoint``/``pretrained``); ``False``, or random towers: the classifier's
            ``logit_scale_init``. The value used is logged.
        **kwargs: ``EncoderDecoder``'s arguments (``backbone``, ``decode_head``,
            ``data_preprocessor``, ``train_cfg``, ``test_cfg``, ...).
    """

    def __init__(self,
                 text_encoder: ConfigType,
                 clip: Optional[dict] = None,
                 train_vocabulary: Optional[VocabularySpec] = None,
                 test_vocabulary: Optional[VocabularySpec] = None,
                 ensemble: Optional[ConfigType] = None,
                 fallback: Optional[ConfigType] = None,
                 logit_scale_from_checkpoint: bool = True,
                 **kwargs):
        if train_vocabulary is None and test_vocabulary is None:
            raise ValueError('OpenVocabEncoderDecoder needs train_vocabulary (the classes of '
                             'the training label maps) or, for a training-free model, '
                             'test_vocabulary')
        self.train_vocabulary = None if train_vocabulary is None \
            else load_vocabulary(train_vocabulary)
        self._vocabulary = load_vocabulary(test_vocabulary) if test_vocabulary is not None \
            else self.train_vocabulary
        towers = with_clip(clip, dict(backbone=kwargs.pop('backbone'), text_encoder=text_encoder))
        self._text_encoder_cfg = towers['text_encoder']
        super().__init__(backbone=towers['backbone'], **kwargs)
        map_legacy_keys(self, LEGACY_KEYS)
        classifier = getattr(self.decode_head, 'cls_embed', None)
        if hasattr(classifier, 'set_logit_scale'):
            start_classifier_logit_scale(self, classifier, self.text_encoder,
                                         logit_scale_from_checkpoint)
        parts = dict(ensemble=ensemble, fallback=fallback)
        for name, part in parts.items():
            if part is not None and not hasattr(self.decode_head, 'query_logits'):
                raise ValueError(f'the {name} post-processes a mask head\'s query logits; '
                                 f'{type(self.decode_head).__name__} has none: set {name}=None')
            setattr(self, name, MODELS.build(part) if part is not None else None)
        self.set_vocabulary(self._vocabulary)

    def _init_decode_head(self, decode_head: ConfigType) -> None:
        """Build the text encoder, then the head over the training (else the test) vocabulary."""
        self.text_encoder = MODELS.build(self._text_encoder_cfg)
        decode_head = dict(decode_head, text_encoder=self.text_encoder)
        decode_head.setdefault('vocabulary', self.train_vocabulary or self._vocabulary)
        self.decode_head = MODELS.build(decode_head)
        if not hasattr(self.decode_head, 'set_vocabulary'):
            raise TypeError(f'{type(self.decode_head).__name__} has no set_vocabulary(); '
                            f'OpenVocabEncoderDecoder needs an open-vocabulary head such as '
                            f'OpenVocabMask2FormerSegHead or DenseZeroShotHead')
        self.align_corners = self.decode_head.align_corners

    @property
    def num_classes(self) -> int:
        """Classes of the vocabulary the head uses now."""
        return self.decode_head.num_classes

    @property
    def out_channels(self) -> int:
        """Output channels of the head: the classes of its current vocabulary."""
        return self.decode_head.out_channels

    @property
    def vocabulary(self) -> Vocabulary:
        """The classes :meth:`predict` segments, in label order."""
        return self._vocabulary

    def set_vocabulary(self, vocabulary: VocabularySpec, stuff: None = None) -> Vocabulary:
        """Predict over ``vocabulary`` from now on (no retraining); the head's classifier,
        ensemble and fallback switch to it at the next :meth:`predict` (text embeddings cached).

        Args:
            vocabulary: a shipped name, a vocabulary file, a list of class names or a
                :class:`Vocabulary`.
            stuff: must be ``None`` (semantic segmentation has no thing/stuff split).

        Returns:
            The loaded :class:`Vocabulary`.
        """
        refuse_stuff(stuff, type(self).__name__)
        self._vocabulary = load_vocabulary(vocabulary)
        for part in (self.ensemble, self.fallback):
            if part is not None:
                part.set_vocabulary(self._vocabulary)
        return self._vocabulary

    def extract_feat(self, inputs: Tensor) -> dict:
        """The backbone's ``'dict'`` output, with the neck's levels as ``'pyramid'`` (a tuple of
        ``(B, C_i, H_i, W_i)``) when the model has a neck."""
        x = self.backbone(inputs)
        return dict(x, pyramid=self.neck(x)) if self.with_neck else x

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Scores ``(B, K, H, W)`` at the size of ``inputs`` (whole image or one window).

        The heads read the output size from ``batch_input_shape``, set here: mmseg's
        sliding-window inference changes ``img_shape`` to the window's but keeps the image's
        ``pad_shape``.
        """
        batch_img_metas = [dict(meta, batch_input_shape=tuple(inputs.shape[-2:]))
                           for meta in batch_img_metas]
        if not hasattr(self.decode_head, 'query_logits'):
            return super().encode_decode(inputs, batch_img_metas)
        x = self.extract_feat(inputs)
        cls_probs, mask_logits = self.query_predictions(x, batch_img_metas)
        return self._class_scores(x, cls_probs, mask_logits, output_size(batch_img_metas[0]))

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of the head over the training vocabulary (see ``EncoderDecoder.loss``)."""
        if self.train_vocabulary is None:
            raise RuntimeError('this OpenVocabEncoderDecoder has no train_vocabulary; set '
                               'model.train_vocabulary to the classes of the training labels')
        self.decode_head.set_vocabulary(self.train_vocabulary)
        return super().loss(inputs, data_samples)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """Segment over :attr:`vocabulary` (see the class docstring for the two outputs)."""
        self.decode_head.set_vocabulary(self._vocabulary)
        if self.test_cfg.get('output_logits', False) or \
                self.test_cfg.get('mode', 'whole') != 'whole' or \
                not hasattr(self.decode_head, 'query_logits'):
            return super().predict(inputs, data_samples)
        if data_samples is not None:
            metas = [sample.metainfo for sample in data_samples]
        else:  # as EncoderDecoder.predict
            metas = [dict(ori_shape=inputs.shape[2:], img_shape=inputs.shape[2:],
                          pad_shape=inputs.shape[2:], padding_size=[0, 0, 0, 0])] * len(inputs)
            data_samples = [SegDataSample() for _ in metas]
        metas = [dict(meta, batch_input_shape=tuple(inputs.shape[-2:])) for meta in metas]
        labels = self._predict_labels(self.extract_feat(inputs), metas)
        for sample, label in zip(data_samples, labels):
            sample.set_data(dict(pred_sem_seg=PixelData(data=label)))
        return data_samples

    def _predict_labels(self, x, metas: List[dict]) -> List[Tensor]:
        """Each image's ``(1, H, W)`` label map: the argmax of mmseg's post-processed scores
        (padding cropped, flipped back, resized to ``ori_shape``), over the head's candidate
        classes, ``test_cfg.class_chunk`` (default 128) at a time with a running maximum (all
        at once with a fallback, whose choice reads every class)."""
        cls_probs, mask_logits = self.query_predictions(x, metas)
        classes = self.candidate_classes(x, cls_probs, mask_logits)
        chunk = len(classes) if self.fallback is not None else \
            max(2, self.test_cfg.get('class_chunk', 128))
        starts = list(range(0, len(classes), chunk))
        if len(classes) - starts[-1] < 2 and len(starts) > 1:
            starts.pop()  # no one-class chunk: mmseg reads one channel as binary
        best = [None] * len(metas)
        for start, end in zip(starts, starts[1:] + [len(classes)]):
            part = classes[start:end]
            scores = self._class_scores(x, cls_probs, mask_logits, output_size(metas[0]), part)
            chunk_samples = self.postprocess_result(
                scores, [SegDataSample(metainfo=meta) for meta in metas])
            for i, sample in enumerate(chunk_samples):
                value, index = sample.seg_logits.data.max(dim=0, keepdim=True)
                label = part[index]
                if best[i] is None:
                    best[i] = [value, label]
                else:  # strictly greater: ties keep the lower class, as argmax does
                    better = value > best[i][0]
                    best[i] = [torch.where(better, value, best[i][0]),
                               torch.where(better, label, best[i][1])]
        return [label for _, label in best]

    def _dense(self, x, part: str) -> Tensor:
        """The backbone's ``(B, D, h, w)`` dense embeddings, which ``part`` reads."""
        if not isinstance(x, dict) or 'dense' not in x:
            raise KeyError(f"the {part} needs the backbone's dense embeddings; build "
                           f"UMGCLIPBackbone with out_type='dict' or set model.{part}=None")
        return x['dense']

    def query_predictions(self, x, metas: List[dict]) -> Tuple[Tensor, Tensor]:
        """The head's ``(B, Q, K)`` class probabilities (void dropped; ensembled when configured)
        and ``(B, Q, H_0, W_0)`` mask logits, over the head's current vocabulary."""
        cls_logits, mask_logits = self.decode_head.query_logits(x, metas)
        for name, part in (('ensemble', self.ensemble), ('fallback', self.fallback)):
            if part is not None:
                self._dense(x, name)
        if self.ensemble is not None:
            cls_logits = self.ensemble(cls_logits, x['dense'], mask_logits,
                                       self.decode_head.cls_embed.class_embeddings())
        return cls_logits.softmax(dim=-1)[..., :-1], mask_logits

    def _class_scores(self, x, cls_probs: Tensor, mask_logits: Tensor, size: tuple,
                      classes: Optional[Tensor] = None) -> Tensor:
        """``(B, C, H, W)`` scores of ``classes`` (all when ``None``) at ``size``, uncovered
        pixels filled by the fallback."""
        if classes is not None:
            cls_probs = cls_probs[..., classes]
        scores = mask_class_scores(cls_probs, mask_logits, size)
        if self.fallback is not None:
            scores = self.fallback(scores, x['dense'],
                                   self.decode_head.cls_embed.class_embeddings(), classes=classes)
        return scores

    def candidate_classes(self, x, cls_probs: Tensor, mask_logits: Tensor,
                           chunk: int = 128) -> Tensor:
        """The classes that can win a pixel of :meth:`_class_scores`' maps, bilinearly resized.

        Found at the masks' resolution (:func:`~umg_mm.models.open_vocab.mixture_candidates`,
        and :func:`~umg_mm.models.open_vocab.map_candidates` of the fallback's CLIP
        similarities), ``chunk`` classes at a time: the argmax over them is the argmax over the
        whole vocabulary. With a fallback, CLIP's softmax then runs over the candidates (its
        argmax is unchanged).

        Returns:
            ``(C,)`` int64 class indices, ascending; ``C >= 2`` when the vocabulary has two
            classes or more (mmseg's post-processing reads one channel as a binary map).
        """
        keep = mixture_candidates(cls_probs, mask_logits.sigmoid(), chunk)
        if self.fallback is not None:
            similarities = class_similarities(x['dense'],
                                              self.decode_head.cls_embed.class_embeddings())
            keep |= map_candidates(similarities, chunk)
        if int(keep.sum()) < 2:
            keep[cls_probs.sum(dim=(0, 1)).topk(min(2, keep.numel())).indices] = True
        return keep.nonzero().flatten()

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None):
        """The head's raw outputs over :attr:`vocabulary` (``mode='tensor'``). A mask head
        (whose ``forward`` reads the images' metas, which mmseg's ``_forward`` does not pass)
        gets ``data_samples``, or metas of the input's size when there are none."""
        self.decode_head.set_vocabulary(self._vocabulary)
        if not hasattr(self.decode_head, 'query_logits'):
            return super()._forward(inputs, data_samples)
        if data_samples is None:
            shape = tuple(inputs.shape[2:])
            data_samples = [SegDataSample(metainfo=dict(
                ori_shape=shape, img_shape=shape, pad_shape=shape, batch_input_shape=shape))
                for _ in range(len(inputs))]
        return self.decode_head.forward(self.extract_feat(inputs), data_samples)
