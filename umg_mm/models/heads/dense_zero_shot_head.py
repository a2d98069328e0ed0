"""Training-free semantic segmentation: dense CLIP embeddings against class text embeddings."""
from typing import List, Optional, Sequence, Union

import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary
from .open_vocab_seg_head import output_size
from ..open_vocab.similarity import class_similarities


@MODELS.register_module()
class DenseZeroShotHead(BaseModule):
    """The backbone's own zero-shot segmentation: no trained parameter.

    Each pixel's dense embedding (``UMGCLIPBackbone``'s ``'dense'`` output, in the joint
    image-text space) is L2-normalised and scored by cosine similarity against the class text
    embeddings of the current vocabulary; the scores are upsampled bilinearly. This is the
    baseline that tells how much a backbone's pixel-text alignment gives before any
    segmentation training, and the "out-of-vocabulary" side of the FC-CLIP ensemble at pixel
    level.

    Args:
        text_encoder: the segmentor's ``UMGCLIPTextEncoder`` (it owns the module; only its
            ``classifier`` method is kept here, so the weights are stored once).
        vocabulary: the initial vocabulary (name, file or list).
        templates: prompt templates (``None``: the text encoder's).
        logit_scale: inverse temperature of the scores (CLIP's 100); the argmax, and so mIoU,
            do not depend on it.
        align_corners: ``align_corners`` of the upsampling.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 text_encoder: nn.Module,
                 vocabulary: Union[str, Sequence, Vocabulary],
                 templates: Optional[Union[str, Sequence[str]]] = None,
                 logit_scale: float = 100.,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(text_encoder, nn.Module):
            raise TypeError(f'DenseZeroShotHead got text_encoder={text_encoder!r}: it needs the '
                            f"segmentor's UMGCLIPTextEncoder module (OpenVocabEncoderDecoder "
                            f'builds it from its text_encoder=dict(...) and hands it over)')
        # a bound method, not a submodule: the tower's weights stay the segmentor's alone
        self.embed_vocabulary = text_encoder.classifier
        self.templates = templates
        self.logit_scale = logit_scale
        self.align_corners = align_corners
        self.vocabulary: Optional[Vocabulary] = None
        self.set_vocabulary(vocabulary)

    def set_vocabulary(self, vocabulary: Union[str, Sequence, Vocabulary]) -> Vocabulary:
        """Score ``vocabulary``'s classes from now on; returns the loaded vocabulary."""
        self.vocabulary = load_vocabulary(vocabulary)
        self.num_classes = self.out_channels = len(self.vocabulary)
        return self.vocabulary

    def forward(self, x: dict) -> Tensor:
        """``(B, K, h, w)`` scores on the patch grid from ``x['dense']`` ``(B, D, h, w)``."""
        if not isinstance(x, dict) or 'dense' not in x:
            raise KeyError("DenseZeroShotHead reads the backbone's 'dense' output; build "
                           "UMGCLIPBackbone with out_type='dict'")
        classes = self.embed_vocabulary(self.vocabulary, self.templates)
        return self.logit_scale * class_similarities(x['dense'], classes).to(x['dense'].dtype)

    def predict(self, x: dict, batch_img_metas: List[dict], test_cfg: dict) -> Tensor:
        """``(B, K, H, W)`` scores at the input size (see ``output_size``)."""
        size = output_size(batch_img_metas[0])
        return F.interpolate(self(x), size=size, mode='bilinear',
                             align_corners=self.align_corners)

    def loss(self, *args, **kwargs):
        """A training-free head has nothing to train."""
        raise RuntimeError('DenseZeroShotHead is training-free; evaluate it with tools/test.py '
                           '(no checkpoint needed), or train OpenVocabMask2FormerSegHead')
