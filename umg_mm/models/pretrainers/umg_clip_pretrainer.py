"""UMG-CLIP pretraining: image-, region- and pixel-text contrastive alignment in one model."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmcv.ops import RoIAlign
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from torch import nn

from umg_mm.registry import MODELS
from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary, refuse_stuff
from ..open_vocab.similarity import class_similarities
from ..losses import string_ids
from ..utils import checkpoint_logit_scale, map_legacy_keys, with_clip
from .pooling import covered_pixels, crop_regions, patch_coverage_pool, pool_regions

LOSS_NAMES = ('image_text', 'region_text', 'pixel_text', 'pixel_dense')
#: checkpoints written before the image-text temperature moved into the CLIP's logit_scale:
#: (old key, new key); the old key's trained value wins over the untrained one
LEGACY_KEYS = (('losses.image_text.log_logit_scale', 'text_encoder.clip.logit_scale'),)


class _BatchTexts:
    """The strings of one batch, gathered in one list to be encoded in one call."""

    def __init__(self):
        self.strings: List[str] = []

    def add(self, strings: Sequence[str]) -> slice:
        start = len(self.strings)
        self.strings.extend(strings)
        return slice(start, len(self.strings))


@MODELS.register_module()
class UMGCLIPPretrainer(BaseModel):
    """Aligns a CLIP model with text at image, region and pixel level (UMG-CLIP).

    ``loss()`` runs the visual backbone once on the batch and the text encoder once on the
    batch's strings (each distinct string tokenised and encoded once), then::

        backbone ─┬─ global (B, D) ──────────────────── image_text_loss  <- img_text
                  └─ dense (B, D, h, w) ─┬─ RoIAlign(boxes) ─ region_text_loss <- caption + tags
                                         ├─ mask pooling ──── pixel_text_loss  <- mask tags
                                         └─ covered patches ─ pixel_dense_loss <- mask tags

    Each loss is a :class:`~umg_mm.models.losses.MultiPositiveContrastiveLoss` (or ``None`` to
    switch that level off) with its own weight and temperature; each contrasts the local rows with
    the global batch gathered from all ranks. Images without a caption/tag (``img_text`` None),
    regions or segments simply add no rows; the ranks still take part in every gather.

    The image-text temperature is the CLIP's own: the loss reads the text tower's
    ``logit_scale`` (``text_encoder.clip.logit_scale``), so a checkpoint carries the trained
    scale where open_clip and the downstream models read it. With weights loaded and
    ``logit_scale_from_checkpoint``, every level's temperature starts from the checkpoint's
    scale; otherwise from each loss's ``temperature``. The optional ``region_crop_distill_loss``
    (CLIPSelf) pulls up to ``num_crops`` RoIAligned region embeddings towards the global
    embeddings of the same boxes cropped from the input, resized to the tower's input size and
    encoded by the same tower without gradient (stop-gradient self-distillation).

    ``predict()`` gives zero-shot outputs for the metrics in :mod:`umg_mm.evaluation.metrics`:
    ``img_embedding`` (D,) and ``text_embedding`` (D,) (of ``img_text``; absent without one),
    and, with a vocabulary in ``test_cfg``, ``pred_img_scores`` (K,), ``pred_region_scores``
    (R, K) of the ground-truth boxes and ``pred_sem_seg`` (``PixelData``, (1, H, W), each pixel's
    most similar class), all cosine similarities with the class embeddings.

    Args:
        backbone: a ``UMGCLIPBackbone`` config with ``out_type='dict'`` (``out_indices=()``:
            pretraining reads the global and dense embeddings only).
        text_encoder: a ``UMGCLIPTextEncoder`` config (``frozen=False`` to train it, or LoRA).
        clip: ``dict(model_name=..., checkpoint=...)``: the one place naming the CLIP model and
            weights both towers start from (see :func:`~umg_mm.models.utils.with_clip`).
        image_text_loss, region_text_loss, pixel_text_loss: the three alignment losses (configs
            of ``MultiPositiveContrastiveLoss``), ``None`` to leave a level out.
        pixel_dense_loss: the optional per-pixel term: every patch that a mask covers at least
            ``pixel_coverage`` of is contrasted (visual-to-text) with the mask's tags.
        region_roi: ``RoIAlign`` options (``output_size``, ``sampling_ratio``, ``aligned``); the
            spatial scale is ``1 / patch_size``.
        tag_template: format of tags turned into text (``'{}'``: the tag itself).
        region_tags: pair each region with its tags too (formatted by ``tag_template``), not
            only with its sampled caption: a region's positives are then its caption and its
            category names.
        pixel_coverage: see ``pixel_dense_loss``.
        region_crop_distill_loss: a ``RegionCropDistillLoss`` config (``loss_weight``,
            ``num_crops``), ``None`` (default): no self-distillation term.
        logit_scale_from_checkpoint: start every loss's temperature from the CLIP checkpoint's
            ``logit_scale`` when the text tower loaded one at construction (``clip.checkpoint``
            or ``pretrained``); ``False``, or random towers: each loss's ``temperature``. The
            values used are logged.
        data_preprocessor: a ``UMGDataPreprocessor`` config.
        test_cfg: ``dict(vocabulary=..., templates=...)`` for zero-shot prediction (anything
            ``load_vocabulary`` reads; templates: a set name, file or list).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 clip: Optional[dict] = None,
                 image_text_loss: Optional[dict] = dict(type='MultiPositiveContrastiveLoss'),
                 region_text_loss: Optional[dict] = None,
                 pixel_text_loss: Optional[dict] = None,
                 pixel_dense_loss: Optional[dict] = None,
                 region_roi: dict = dict(output_size=2, sampling_ratio=2, aligned=True),
                 tag_template: str = '{}',
                 region_tags: bool = True,
                 pixel_coverage: float = 0.5,
                 region_crop_distill_loss: Optional[dict] = None,
                 logit_scale_from_checkpoint: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='UMGDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        towers = with_clip(clip, dict(backbone=backbone, text_encoder=text_encoder))
        self.backbone = MODELS.build(towers['backbone'])
        if self.backbone.out_type != 'dict':
            raise ValueError(f"the pretrainer reads the backbone's global and dense embeddings: "
                             f"set backbone out_type='dict' (got {self.backbone.out_type!r})")
        patch = self.backbone.patch_size
        if patch[0] != patch[1]:
            raise NotImplementedError(f'square patches only, got {patch}')
        self.patch_size = patch[0]
        self.text_encoder = MODELS.build(towers['text_encoder'])
        if self.text_encoder.embed_dim != self.backbone.embed_dim:
            raise ValueError(f'the text encoder embeds in {self.text_encoder.embed_dim} dims, the '
                             f'backbone in {self.backbone.embed_dim}: build both from the same '
                             f'open_clip model')
        configs = dict(image_text=image_text_loss, region_text=region_text_loss,
                       pixel_text=pixel_text_loss, pixel_dense=pixel_dense_loss)
        if all(cfg is None for cfg in configs.values()) and region_crop_distill_loss is None:
            raise ValueError(f'all losses are None; configure at least one of '
                             f'{[n + "_loss" for n in LOSS_NAMES] + ["region_crop_distill_loss"]}')
        self.losses = nn.ModuleDict(
            {name: MODELS.build(cfg) for name, cfg in configs.items() if cfg is not None})
        self.region_crop_distill = None if region_crop_distill_loss is None else \
            MODELS.build(region_crop_distill_loss)
        self._start_temperatures(logit_scale_from_checkpoint)
        map_legacy_keys(self, LEGACY_KEYS, old_wins=True)
        self.roi_align = RoIAlign(spatial_scale=1. / self.patch_size, **region_roi)
        if '{}' not in tag_template:
            raise ValueError(f"tag_template={tag_template!r} needs a '{{}}' for the tag")
        self.tag_template = tag_template
        self.region_tags = region_tags
        self.pixel_coverage = pixel_coverage
        self.test_cfg = dict(test_cfg or {})

    def _start_temperatures(self, from_checkpoint: bool) -> None:
        """Share the CLIP's ``logit_scale`` with the image-text loss; start every level's
        scale from the checkpoint's (see ``logit_scale_from_checkpoint``) or its config's."""
        if 'image_text' in self.losses:
            self.losses['image_text'].share_logit_scale(self.text_encoder.clip)
        scale = checkpoint_logit_scale(self.text_encoder, from_checkpoint)
        starts = {name: loss.initial_logit_scale if scale is None else scale
                  for name, loss in self.losses.items()}
        for name, loss in self.losses.items():
            loss.set_logit_scale(starts[name])
        if self.losses:  # values as set (python floats: also under a fake-tensor mode)
            source = 'the CLIP checkpoint' if scale is not None else "each loss's temperature"
            values = ', '.join(f'{name} {value:.4g}' for name, value in starts.items())
            MMLogger.get_current_instance().info(
                f'{type(self).__name__}: logit scales start at {values} ({source})')

    @property
    def vocabulary(self) -> Optional[Vocabulary]:
        """The classes of the zero-shot scores (``test_cfg.vocabulary``, read on first use, so
        a config's file need not exist where another vocabulary is set); ``None``: no class
        scores (image and text embeddings only)."""
        spec = self.test_cfg.get('vocabulary')
        if spec is not None and not isinstance(spec, Vocabulary):
            spec = self.test_cfg['vocabulary'] = load_vocabulary(spec)
        return spec

    def set_vocabulary(self, vocabulary: Optional[Union[str, Sequence, Vocabulary]],
                       stuff: None = None) -> Optional[Vocabulary]:
        """Score these classes from now on (``None``: none, embeddings only).

        Args:
            vocabulary: anything ``load_vocabulary`` accepts, or ``None``.
            stuff: must be ``None`` (no thing/stuff split).

        Returns:
            The loaded :class:`Vocabulary` (or ``None``).
        """
        refuse_stuff(stuff, type(self).__name__)
        self.test_cfg['vocabulary'] = None if vocabulary is None else load_vocabulary(vocabulary)
        return self.test_cfg['vocabulary']

    # ------------------------------------------------------------------ modes
    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """mmengine's three modes: ``'loss'`` (dict of losses), ``'predict'`` (data samples with
        zero-shot outputs), ``'tensor'`` (the backbone's ``{'global', 'dense'}`` outputs)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.backbone(inputs)
        raise ValueError(f"mode={mode!r}; use 'loss', 'predict' or 'tensor'")

    def loss(self, inputs: torch.Tensor, data_samples: list) -> Dict[str, torch.Tensor]:
        """Losses of a batch.

        Args:
            inputs: ``(B, 3, Hp, Wp)`` normalised, padded images.
            data_samples: ``B`` packed samples (``PackUMGInputs``; masks padded by the
                preprocessor).

        Returns:
            ``loss_<level>`` for each configured level, ``loss_region_crop_distill`` when
            configured, and ``scale_<level>`` (its current ``1 / temperature``, logged, not
            optimised).
        """
        features = self.backbone(inputs)
        dense = features['dense']
        batch = _BatchTexts()
        captioned = [i for i, s in enumerate(data_samples) if s.get('img_text')]
        image_slice = batch.add([data_samples[i].img_text for i in captioned])
        regions = [s.gt_instances for s in data_samples]
        region_texts = [[text] + ([self.tag_template.format(tag) for tag in tags]
                                  if self.region_tags else [])
                        for r in regions for text, tags in zip(r.texts, r.tags)]
        region_slice = batch.add([t for texts in region_texts for t in texts])
        segments = [s.gt_segments for s in data_samples]
        mask_texts = [[self.tag_template.format(tag) for tag in tags] if tags else [text]
                      for seg in segments for tags, text in zip(seg.tags, seg.texts)]
        mask_slice = batch.add([t for texts in mask_texts for t in texts])
        text = self.text_encoder.encode_text(batch.strings) if batch.strings else \
            dense.new_zeros((0, self.text_encoder.embed_dim))
        ids = string_ids(batch.strings, device=dense.device)

        losses = {}
        if 'image_text' in self.losses:
            index = torch.tensor(captioned, dtype=torch.long, device=dense.device)
            losses['image_text'] = self.losses['image_text'](
                features['global'][index], text[image_slice], ids[image_slice],
                _diagonal_pairs(len(captioned), dense.device))
        if 'region_text' in self.losses or self.region_crop_distill is not None:
            pooled = pool_regions(dense, [r.bboxes for r in regions], self.roi_align)
        if self.region_crop_distill is not None:
            losses['region_crop_distill'] = self._region_crop_distill(
                inputs, dense, pooled, [r.bboxes for r in regions])
        if 'region_text' in self.losses:
            losses['region_text'] = self.losses['region_text'](
                pooled, text[region_slice], ids[region_slice],
                _owner_pairs(region_texts, dense.device))
        if 'pixel_text' in self.losses or 'pixel_dense' in self.losses:
            pooled, coverage, image_index = patch_coverage_pool(
                dense, [s.masks for s in segments], self.patch_size)
            pairs = _owner_pairs(mask_texts, dense.device)
            if 'pixel_text' in self.losses:
                losses['pixel_text'] = self.losses['pixel_text'](
                    pooled, text[mask_slice], ids[mask_slice], pairs)
            if 'pixel_dense' in self.losses:
                pixels, pixel_mask = covered_pixels(dense, coverage, image_index,
                                                    self.pixel_coverage)
                # pixel p is paired with every text of its mask
                hits = (pixel_mask[:, None] == pairs[None, :, 0]).nonzero()
                pixel_pairs = torch.stack([hits[:, 0], pairs[hits[:, 1], 1]], dim=1)
                used = torch.zeros(len(pairs), dtype=torch.bool, device=dense.device)
                used[pixel_pairs[:, 1]] = True  # texts of masks too small to cover a patch
                remap = used.long().cumsum(0) - 1  # are left out
                losses['pixel_dense'] = self.losses['pixel_dense'](
                    pixels, text[mask_slice][used], ids[mask_slice][used],
                    torch.stack([pixel_pairs[:, 0], remap[pixel_pairs[:, 1]]], dim=1))
        outputs = {f'loss_{name}': value for name, value in losses.items()}
        outputs.update({f'scale_{name}': loss.logit_scale().detach()
                        for name, loss in self.losses.items()})
        return outputs

    def _region_crop_distill(self, inputs: torch.Tensor, dense: torch.Tensor,
                             pooled: torch.Tensor, boxes: List[torch.Tensor]) -> torch.Tensor:
        """The self-distillation loss of up to ``num_crops`` boxes (a random choice when the
        batch has more): ``pooled`` ``(R, D)`` (student, all boxes in order, from ``dense``)
        against the global embeddings of the boxes cropped from ``inputs`` ``(B, 3, Hp, Wp)``
        (teacher, encoded by the backbone without gradient). No boxes: 0 on ``dense``'s graph."""
        loss = self.region_crop_distill
        index = torch.cat([torch.full((len(b),), i, dtype=torch.long, device=inputs.device)
                           for i, b in enumerate(boxes)])
        if len(index) == 0:
            return dense.sum() * 0.
        chosen = torch.arange(len(index), device=inputs.device)
        if len(index) > loss.num_crops:
            chosen = torch.randperm(len(index), device=inputs.device)[:loss.num_crops].sort()[0]
        boxes = torch.cat(boxes).reshape(-1, 4)[chosen]
        with torch.no_grad():
            crops = crop_regions(inputs, boxes, index[chosen], self.backbone.image_size)
            teacher = self.backbone(crops)['global']
        return loss(pooled[chosen], teacher)

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: list) -> list:
        """Zero-shot outputs (see the class docstring), added to ``data_samples``."""
        features = self.backbone(inputs)
        image = F.normalize(features['global'], dim=-1)
        dense = features['dense']
        captioned = [i for i, s in enumerate(data_samples) if s.get('img_text')]
        if captioned:
            captions = self.text_encoder.encode_text(
                [data_samples[i].img_text for i in captioned], normalize=True)
            for i, embedding in zip(captioned, captions):
                data_samples[i].text_embedding = embedding
        classes = None
        if self.vocabulary is not None:
            classes = self.text_encoder.classifier(self.vocabulary,
                                                   self.test_cfg.get('templates'))
            regions = F.normalize(
                pool_regions(dense, [s.gt_instances.bboxes for s in data_samples],
                             self.roi_align), dim=-1)
            counts = [len(s.gt_instances) for s in data_samples]
            region_scores = (regions @ classes.T).split(counts)
            pixel_logits = class_similarities(dense, classes)
            pixel_logits = F.interpolate(pixel_logits, scale_factor=self.patch_size,
                                         mode='bilinear', align_corners=False)
        for i, sample in enumerate(data_samples):
            sample.img_embedding = image[i]
            if classes is None:
                continue
            sample.pred_img_scores = image[i] @ classes.T
            sample.pred_region_scores = region_scores[i]
            height, width = sample.metainfo.get('img_shape', inputs.shape[-2:])[:2]
            sample.pred_sem_seg = PixelData(
                data=pixel_logits[i, :, :height, :width].argmax(dim=0, keepdim=True))
        return data_samples


def _owner_pairs(texts_per_visual: List[List[str]], device) -> torch.Tensor:
    """Pairs ``(v, t)`` of each visual ``v`` with each of its texts, texts numbered in order."""
    owners = [v for v, texts in enumerate(texts_per_visual) for _ in texts]
    return torch.stack([torch.tensor(owners, dtype=torch.long),
                        torch.arange(len(owners))], dim=1).reshape(-1, 2).to(device)


def _diagonal_pairs(count: int, device) -> torch.Tensor:
    """Pairs ``(i, i)``: visual ``i``'s positive is text ``i``."""
    index = torch.arange(count, device=device)
    return torch.stack([index, index], dim=1)
