"""mmseg's EncoderDecoder over a training vocabulary and a swappable test vocabulary."""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, OptSampleList, SampleList
from torch import Tensor

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary
from ..heads.open_vocab_seg_head import output_size
from ..utils import map_legacy_keys, with_clip

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
      the current vocabulary: ``OpenVocabMask2FormerSegHead`` (trained) or
      ``DenseZeroShotHead`` (training-free).

    The head classifies over ``train_vocabulary`` in :meth:`loss` and over ``test_vocabulary``
    in :meth:`predict` and :meth:`_forward`; ``num_classes`` and ``out_channels`` follow the
    vocabulary in use, so mmseg's whole and sliding-window inference work unchanged.

    1. ``loss``: the head classifies over the training vocabulary.

    .. code:: text

     loss(): use train_vocabulary -> EncoderDecoder.loss()
     EncoderDecoder.loss(): extract_feat() -> decode_head.loss()

    2. ``predict``: the head classifies over the test vocabulary.

    .. code:: text

     predict(): use test_vocabulary -> EncoderDecoder.predict()
     EncoderDecoder.predict(): inference() -> postprocess_result()
     inference(): whole_inference() / slide_inference()
     whole_inference() / slide_inference(): encode_decode()
     encode_decode(): extract_feat() -> decode_head.predict()

    By default (whole-image inference, a head with ``candidate_classes``) ``predict`` gives
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
        test_vocabulary: the classes predicted at test time. ``None`` (the default): the
            training vocabulary until ``SemSegVocabularyHook`` sets the evaluated dataset's
            vocabulary. Given here, it is kept (the hook then only checks that the dataset has
            as many classes).
        **kwargs: ``EncoderDecoder``'s arguments (``backbone``, ``decode_head``,
            ``data_preprocessor``, ``train_cfg``, ``test_cfg``, ...).
    """

    def __init__(self,
                 text_encoder: ConfigType,
                 clip: Optional[dict] = None,
                 train_vocabulary: Optional[VocabularySpec] = None,
                 test_vocabulary: Optional[VocabularySpec] = None,
                 **kwargs):
        if train_vocabulary is None and test_vocabulary is None:
            raise ValueError('OpenVocabEncoderDecoder needs train_vocabulary (the classes of '
                             'the training label maps) or, for a training-free model, '
                             'test_vocabulary')
        self.train_vocabulary = None if train_vocabulary is None \
            else load_vocabulary(train_vocabulary)
        self.test_vocabulary_pinned = test_vocabulary is not None
        self.test_vocabulary = load_vocabulary(test_vocabulary) if test_vocabulary is not None \
            else self.train_vocabulary
        towers = with_clip(clip, dict(backbone=kwargs.pop('backbone'), text_encoder=text_encoder))
        self._text_encoder_cfg = towers['text_encoder']
        super().__init__(backbone=towers['backbone'], **kwargs)
        map_legacy_keys(self, LEGACY_KEYS)

    def _init_decode_head(self, decode_head: ConfigType) -> None:
        """Build the text encoder, then the head over the training (else the test) vocabulary."""
        self.text_encoder = MODELS.build(self._text_encoder_cfg)
        decode_head = dict(decode_head, text_encoder=self.text_encoder)
        decode_head.setdefault('vocabulary', self.train_vocabulary or self.test_vocabulary)
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

    def set_test_vocabulary(self, vocabulary: VocabularySpec) -> Vocabulary:
        """Predict over ``vocabulary`` from now on (no retraining).

        Args:
            vocabulary: a shipped name, a vocabulary file, or a list of class names.

        Returns:
            The loaded :class:`Vocabulary`.
        """
        self.test_vocabulary = load_vocabulary(vocabulary)
        return self.test_vocabulary

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
        return super().encode_decode(inputs, batch_img_metas)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of the head over the training vocabulary (see ``EncoderDecoder.loss``)."""
        if self.train_vocabulary is None:
            raise RuntimeError('this OpenVocabEncoderDecoder has no train_vocabulary; set '
                               'model.train_vocabulary to the classes of the training labels')
        self.decode_head.set_vocabulary(self.train_vocabulary)
        return super().loss(inputs, data_samples)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """Segment over the test vocabulary (see the class docstring for the two outputs)."""
        self.decode_head.set_vocabulary(self.test_vocabulary)
        if self.test_cfg.get('output_logits', False) or \
                self.test_cfg.get('mode', 'whole') != 'whole' or \
                not hasattr(self.decode_head, 'candidate_classes'):
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
        head = self.decode_head
        cls_probs, mask_logits = head.query_predictions(x, metas)
        classes = head.candidate_classes(x, cls_probs, mask_logits)
        chunk = len(classes) if head.fallback is not None else \
            max(2, self.test_cfg.get('class_chunk', 128))
        starts = list(range(0, len(classes), chunk))
        if len(classes) - starts[-1] < 2 and len(starts) > 1:
            starts.pop()  # no one-class chunk: mmseg reads one channel as binary
        best = [None] * len(metas)
        for start, end in zip(starts, starts[1:] + [len(classes)]):
            part = classes[start:end]
            scores = head.class_scores(x, cls_probs, mask_logits, output_size(metas[0]), part)
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

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None):
        """The head's raw outputs over the test vocabulary (``mode='tensor'``)."""
        self.decode_head.set_vocabulary(self.test_vocabulary)
        return super()._forward(inputs, data_samples)
