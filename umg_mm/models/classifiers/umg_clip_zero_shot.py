"""Zero-shot image classification with UMG-CLIP, for mmpretrain configs (mmpretrain's MODELS).

mmpretrain's own ``CLIPZeroShot`` re-implements CLIP's towers and tokenises with a HuggingFace
``AutoTokenizer`` that is downloaded on first use. :class:`UMGCLIPZeroShot` takes its place in a
stock mmpretrain config (same ``text_prototype`` / ``text_prompt`` words, same ``DataSample``
output with ``pred_score`` and ``pred_label``, so mmpretrain's datasets, pipelines and
``Accuracy`` run unchanged), with umg_mm's towers inside: :class:`UMGCLIPBackbone` for the image
embedding, :class:`UMGCLIPTextEncoder` (open_clip's bundled BPE tokenizer, offline) for the class
embeddings, prompt-ensembled and cached per vocabulary.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.models.multimodal.clip.clip import PROMPT_MAP, PROTOTYPE_MAP
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.structures import DataSample

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary, refuse_stuff
from umg_mm.models.text.templates import load_templates
from umg_mm.registry import MODELS
from ..utils import with_clip

VocabularySpec = Union[str, Sequence, Vocabulary]


def resolve_prototype(text_prototype: VocabularySpec) -> Vocabulary:
    """The classes of a zero-shot run, in label order.

    Args:
        text_prototype: ``'imagenet'`` or ``'cifar100'`` (mmpretrain's class-name lists, as its
            ``CLIPZeroShot`` reads them; kept verbatim, duplicates included: ImageNet's simple
            names call two classes ``crane``), or anything
            :func:`~umg_mm.structures.vocabulary.load_vocabulary` accepts (a shipped vocabulary
            name, a file with one class per line, a list of names).

    Returns:
        The :class:`Vocabulary`.
    """
    if isinstance(text_prototype, str) and text_prototype in PROTOTYPE_MAP:
        return Vocabulary(tuple((name,) for name in PROTOTYPE_MAP[text_prototype]),
                          source=f'mmpretrain:{text_prototype}')
    return load_vocabulary(text_prototype)


def resolve_prompts(text_prompt: Optional[Union[str, Sequence[str]]]) -> Optional[tuple]:
    """Prompt templates (``str.format`` strings with one ``{}``).

    Args:
        text_prompt: a prompt set of mmpretrain's ``CLIPZeroShot`` (``'vanilla'``,
            ``'openai_imagenet'``, ``'openai_imagenet_sub'``, ``'openai_cifar100'``; its lambdas
            rendered with ``'{}'``), a umg_mm template set name (``'imagenet80'``, ...), a file
            or a list; ``None`` keeps the text encoder's templates.

    Returns:
        The templates, or ``None``.
    """
    if text_prompt is None:
        return None
    if isinstance(text_prompt, str) and text_prompt in PROMPT_MAP:
        return tuple(prompt('{}') for prompt in PROMPT_MAP[text_prompt])
    return load_templates(text_prompt)


@MMPRETRAIN_MODELS.register_module()
class UMGCLIPZeroShot(BaseModel):
    """UMG-CLIP zero-shot classifier: image embedding against the classes' text embeddings.

    ``logits = exp(logit_scale) * cos(image, t_k)`` for the L2-normalised, prompt-ensembled text
    embedding ``t_k`` of each class and the model's (checkpoint's) CLIP ``logit_scale``::

        predict(images, samples)            (tools/test.py; mmpretrain's Accuracy reads it)
          ├─ backbone(images)               UMGCLIPBackbone, out_type='global' -> (B, D)
          ├─ text_encoder.classifier(...)   (K, D) class embeddings, cached per vocabulary
          └─ head.predict(logits)           mmpretrain's ClsHead: softmax pred_score (K,),
                                            pred_label per sample

        loss(images, samples)               fine-tuning from the zero-shot classifier
          └─ head.loss(logits, samples)     ClsHead's loss (CrossEntropyLoss by default)

    The towers are attributes ``backbone`` and ``text_encoder``, as in
    :class:`~umg_mm.models.pretrainers.UMGCLIPPretrainer`: ``tools/test.py CONFIG CKPT`` (its
    ``load_from``) loads a umg_mm pretraining checkpoint, or an open_clip file converted by
    ``tools/convert_open_clip.py to-umg``, straight into them.

    Args:
        backbone: :class:`~umg_mm.models.backbones.UMGCLIPBackbone` config; its ``out_type`` is
            set to ``'global'``.
        text_encoder: :class:`~umg_mm.models.text.UMGCLIPTextEncoder` config.
        clip: ``dict(model_name=..., checkpoint=...)``: the one place naming the CLIP model and
            weights both towers start from (see :func:`~umg_mm.models.utils.with_clip`).
        text_prototype: the classes (see :func:`resolve_prototype`); replace with
            :meth:`set_vocabulary` or ``--cfg-options model.text_prototype=...``.
        text_prompt: the prompt templates (see :func:`resolve_prompts`).
        loss: classification loss config (mmpretrain's registry) for ``mode='loss'``.
        max_logit_scale: upper clamp of ``exp(logit_scale)``, as CLIP (100).
        data_preprocessor: mmpretrain data preprocessor config; default
            ``MultiModalDataPreprocessor`` (a stock config's top-level ``data_preprocessor`` is
            filled in by the Runner).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 clip: Optional[dict] = None,
                 text_prototype: VocabularySpec = 'imagenet',
                 text_prompt: Optional[Union[str, Sequence[str]]] = 'vanilla',
                 loss: dict = dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
                 max_logit_scale: float = 100.,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='mmpretrain.MultiModalDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MMPRETRAIN_MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        towers = with_clip(clip, dict(backbone=backbone, text_encoder=text_encoder))
        self.backbone = MODELS.build(dict(towers['backbone'], out_type='global'))
        self.text_encoder = MODELS.build(towers['text_encoder'])
        if self.backbone.embed_dim != self.text_encoder.embed_dim:
            raise ValueError(f'the backbone embeds images in {self.backbone.embed_dim} '
                             f'dimensions but the text encoder embeds text in '
                             f'{self.text_encoder.embed_dim}; give both towers the same CLIP '
                             f'model (model_name or model_cfg)')
        # mmpretrain's ClsHead on the logits: its loss (gt_label or mixed gt_score) and its
        # predictions (softmax pred_score, arg-max pred_label)
        self.head = MMPRETRAIN_MODELS.build(dict(type='mmpretrain.ClsHead', loss=loss))
        self.max_logit_scale = max_logit_scale
        self.templates = resolve_prompts(text_prompt)
        self.set_vocabulary(text_prototype)

    def set_vocabulary(self, vocabulary: VocabularySpec, stuff: None = None) -> Vocabulary:
        """Classify over these classes from now on (label ``k`` = class ``k``); no retraining.

        Args:
            vocabulary: see :func:`resolve_prototype`.
            stuff: must be ``None`` (classification has no thing/stuff split).

        Returns:
            The loaded :class:`Vocabulary` (also ``self.vocabulary``).
        """
        refuse_stuff(stuff, type(self).__name__)
        self.vocabulary = resolve_prototype(vocabulary)
        return self.vocabulary

    @property
    def num_classes(self) -> int:
        """``K``, the classes of the current vocabulary."""
        return len(self.vocabulary)

    def class_embeddings(self) -> torch.Tensor:
        """``(K, D)`` L2-normalised text embeddings of the vocabulary (cached by the encoder)."""
        return self.text_encoder.classifier(self.vocabulary, self.templates)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` L2-normalised image embeddings of ``(B, 3, H, W)`` normalised images."""
        if inputs.dim() != 4 or inputs.shape[1] != 3:
            raise ValueError(
                f'UMGCLIPZeroShot expects images of shape (B, 3, H, W), got '
                f'{tuple(inputs.shape)}. With MultiModalDataPreprocessor, batch the images in '
                f"the dataloader: collate_fn=dict(type='default_collate') (under the default "
                f'pseudo_collate it stacks a batch as (3, B, H, W))')
        return F.normalize(self.backbone(inputs)[0], dim=-1)

    def _logits(self, inputs: torch.Tensor) -> torch.Tensor:
        images = self.extract_feat(inputs)
        classes = self.class_embeddings().to(images.dtype)
        scale = self.text_encoder.logit_scale.exp().clamp(max=self.max_logit_scale)
        return scale * images @ classes.t()

    def forward(self,
                images: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """mmengine's entry point (``images``: the key of mmpretrain's
        ``MultiModalDataPreprocessor`` output, as for mmpretrain's CLIP).

        Args:
            images: ``(B, 3, H, W)`` normalised images.
            data_samples: their ``DataSample``s (``gt_label`` for ``'loss'``).
            mode: ``'tensor'`` returns the ``(B, K)`` logits, ``'predict'`` the data samples
                with ``pred_score`` ``(K,)`` (softmax) and ``pred_label``, ``'loss'`` a dict
                with the classification ``loss``.
        """
        if mode == 'tensor':
            return self._logits(images)
        if mode == 'predict':
            return self.predict(images, data_samples)
        if mode == 'loss':
            return self.loss(images, data_samples)
        raise RuntimeError(f'UMGCLIPZeroShot: invalid mode {mode!r}; use "tensor", "predict" '
                           f'or "loss"')

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample]) -> dict:
        """Classification loss of the zero-shot logits against each sample's ``gt_label``."""
        missing = [i for i, s in enumerate(data_samples) if 'gt_label' not in s]
        if missing:
            raise KeyError(f'UMGCLIPZeroShot.loss: samples {missing} have no gt_label; the '
                           f'training dataset must give labels (with_label=True)')
        target = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        if int(target.max()) >= self.num_classes:
            raise ValueError(f'label {int(target.max())} is out of range for the '
                             f'{self.num_classes} classes of {self.vocabulary.source}; the '
                             f"dataset's classes and text_prototype must match")
        return self.head.loss((self._logits(inputs),), data_samples)

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Class probabilities and the arg-max label of each image.

        Returns:
            One ``DataSample`` per image (the given ones, updated) with ``pred_score`` ``(K,)``
            and ``pred_label`` ``(1,)``.
        """
        return self.head.predict((self._logits(inputs),), data_samples)
