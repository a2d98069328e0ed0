"""Open-vocabulary classifier: query embeddings scored against the text embeddings of a vocabulary.

Mask-classification heads (Mask2Former for panoptic segmentation in mmdet, for semantic
segmentation in mmseg) end in a fixed ``nn.Linear(C, num_classes + 1)``. This module replaces that
layer: a query embedding is projected into the CLIP joint space and compared, by cosine similarity,
with the class embeddings of the *current* vocabulary (prompt-ensembled by
:class:`~umg_mm.models.text.UMGCLIPTextEncoder`, which caches them per vocabulary) and with one
learned *void* (no-object) embedding. Nothing in it depends on the number of classes, so the
vocabulary can be replaced at test time (:meth:`OpenVocabClassifier.set_vocabulary`) without
retraining.
"""
import math
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary
from umg_mm.registry import MODELS

VocabularySpec = Union[str, Sequence, Vocabulary]


@MODELS.register_module()
class OpenVocabClassifier(BaseModule):
    """Cosine classifier over a swappable vocabulary plus a learned void class.

    ``logits = exp(logit_scale) * [cos(P q, t_1), ..., cos(P q, t_K), cos(P q, v)]`` where ``P``
    is a linear projection into the joint space, ``t_k`` the L2-normalised text embedding of class
    ``k`` and ``v`` the learned void embedding. The last logit is the void (background / no-object)
    class, as mmdet's and mmseg's Mask2Former heads expect.

    Args:
        in_channels: channels ``C_in`` of the query embeddings.
        embed_dim: ``D``, the joint image-text space of the text tower.
        vocabulary: the initial vocabulary: a benchmark name (``'coco_panoptic_133'``), a
            vocabulary file, or a list of class names (``'a, b'`` or a tuple gives synonyms).
            ``None``: set it later with :meth:`set_vocabulary` before the first forward.
        templates: prompt templates for the class embeddings (set name, file or list); ``None``
            uses the text encoder's.
        logit_scale_init: initial value of ``exp(logit_scale)``, the inverse temperature (the
            segmentor and detector start it from their CLIP checkpoint's with
            ``logit_scale_from_checkpoint``, see :meth:`set_logit_scale`).
        learn_logit_scale: train the logit scale (otherwise it stays at its initial value).
        max_logit_scale: upper clamp of ``exp(logit_scale)``, as CLIP does (100).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dim: int,
                 vocabulary: Optional[VocabularySpec] = None,
                 templates: Optional[Union[str, Sequence[str]]] = None,
                 logit_scale_init: float = 1 / 0.07,
                 learn_logit_scale: bool = True,
                 max_logit_scale: float = 100.,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.embed_vocabulary = None  # set_text_encoder
        self.in_channels = in_channels
        self.embed_dim = embed_dim
        self.templates = templates
        self.max_logit_scale = max_logit_scale
        self.initial_logit_scale = logit_scale_init
        self.proj = nn.Linear(in_channels, embed_dim)
        self.void_embedding = nn.Parameter(torch.randn(embed_dim) * embed_dim**-0.5)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(logit_scale_init)),
                                        requires_grad=learn_logit_scale)
        self.vocabulary: Optional[Vocabulary] = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    def set_logit_scale(self, scale: float) -> None:
        """Set ``exp(logit_scale)`` to ``scale`` (a start value; trained if learnable)."""
        with torch.no_grad():
            self.logit_scale.fill_(math.log(scale))

    def set_text_encoder(self, text_encoder: nn.Module) -> None:
        """Embed vocabularies with the model's text tower from now on.

        Args:
            text_encoder: the :class:`~umg_mm.models.text.UMGCLIPTextEncoder` that the segmentor
                or detector owns as ``text_encoder``. Only its ``classifier`` method is kept, not
                the module, so its weights are stored once, under the model's
                ``text_encoder.*``; its cache means a vocabulary is encoded once, not in every
                forward pass.
        """
        if getattr(text_encoder, 'embed_dim', None) != self.embed_dim or \
                not callable(getattr(text_encoder, 'classifier', None)):
            raise TypeError(f'OpenVocabClassifier (embed_dim={self.embed_dim}) got '
                            f'text_encoder={text_encoder!r}: it needs the model\'s '
                            f'UMGCLIPTextEncoder of the same embed_dim (a module with '
                            f'classifier(vocabulary, templates))')
        self.embed_vocabulary = text_encoder.classifier

    def set_vocabulary(self, vocabulary: VocabularySpec) -> Vocabulary:
        """Use another vocabulary from now on (no retraining; its embeddings are cached).

        Args:
            vocabulary: anything :func:`umg_mm.structures.vocabulary.load_vocabulary` accepts.

        Returns:
            The loaded :class:`Vocabulary`.
        """
        self.vocabulary = load_vocabulary(vocabulary)
        return self.vocabulary

    @property
    def num_classes(self) -> int:
        """``K``: classes of the current vocabulary (the void class not counted)."""
        self._check_vocabulary()
        return len(self.vocabulary)

    def _check_vocabulary(self) -> None:
        if self.vocabulary is None:
            raise RuntimeError('OpenVocabClassifier has no vocabulary; pass vocabulary=... in its '
                               'config or call set_vocabulary(...) before the forward pass')

    def class_embeddings(self) -> torch.Tensor:
        """``(K, D)`` L2-normalised text embeddings of the current vocabulary (cached)."""
        self._check_vocabulary()
        if self.embed_vocabulary is None:
            raise RuntimeError('OpenVocabClassifier has no text encoder; the model that owns '
                               'one hands it over with set_text_encoder(text_encoder)')
        return self.embed_vocabulary(self.vocabulary, self.templates)

    def embed_queries(self, queries: torch.Tensor) -> torch.Tensor:
        """Project ``(..., C_in)`` queries into the joint space: ``(..., D)``, L2-normalised."""
        if queries.shape[-1] != self.in_channels:
            raise ValueError(f'OpenVocabClassifier expects queries with {self.in_channels} '
                             f'channels (in_channels), got shape {tuple(queries.shape)}')
        return F.normalize(self.proj(queries), dim=-1)

    def forward(self, queries: torch.Tensor) -> torch.Tensor:
        """Classify query embeddings against the vocabulary and the void class.

        Args:
            queries: ``(B, Q, C_in)`` query embeddings (any number of leading dimensions).

        Returns:
            ``(B, Q, K + 1)`` logits; the last one is the void class.
        """
        queries = self.embed_queries(queries)
        classes = self.class_embeddings().to(queries.dtype)
        void = F.normalize(self.void_embedding, dim=-1).to(queries.dtype)
        weights = torch.cat([classes, void[None]], dim=0)
        scale = self.logit_scale.exp().clamp(max=self.max_logit_scale)
        return scale * queries @ weights.t()
