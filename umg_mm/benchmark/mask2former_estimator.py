"""Per-rank memory and FLOPs of one training step of an open-vocabulary Mask2Former config
(semantic: mmseg's ``OpenVocabEncoderDecoder``; panoptic: mmdet's ``OpenVocabMask2Former``),
planned without weights.

As :mod:`~umg_mm.benchmark.estimator` for pretraining: the config's model is built under
PyTorch's ``FakeTensorMode`` and one step (forward, backward, AdamW step) runs on a synthetic
batch of the config's shape (crop size, images per GPU, ``segments`` ground-truth segments per
image); torch's ``MemTracker`` splits the peak into weights, gradients, optimizer state and
activations (the AdamW states made before the step, as from the second step on) and
``FlopCounterMode`` counts the FLOPs.

What cannot run on fake tensors (it reads values) and what stands in for it:

* the ground truth's conversion to per-segment masks (``torch.unique`` of the label map: mmseg's
  ``_seg_data_to_instance_data``, mmdet's ``preprocess_gt``) runs on the real synthetic labels
  before the step;
* Mask2Former's matching (mmdet's ``HungarianAssigner``: scipy's ``linear_sum_assignment`` on the
  cost matrix, and ``MaskPseudoSampler``'s ``nonzero``) is replaced by a fixed matching, query
  ``i`` to segment ``i``: the targets have the shapes of a real matching (``Q`` labels, one mask
  per segment); the cost matrices it skips are ``(Q, segments)`` and transient;
* the loss's selection of the matched queries' masks (a boolean index, ``nonzero``) is answered
  with the fixed matching's count;
* the vocabulary's text embeddings are computed before the step (the text tower is frozen and
  they are cached after the first step), each prompt at the full context length.

mmcv's ``MultiScaleDeformableAttention`` runs its pure-PyTorch path on these CPU tensors
(``multi_scale_deformable_attn_pytorch``: ``grid_sample`` per level), which saves the sampled
values ``(B * heads, C / heads, Lq, levels * points)`` of every encoder layer for the backward
pass; the CUDA kernel saves only its inputs, so the activations are an upper bound by these
tensors: ``B * C * Lq * levels * points * 4`` bytes per encoder layer (COCO-Stuff's recipe,
640 px, 2 images, ``Lq`` = 8,400 tokens of strides 8-32, 3 levels x 4 points: 206 MB per
layer, 1.2 GB for the 6 layers).
"""
from contextlib import ExitStack, contextmanager, nullcontext
from copy import deepcopy
from typing import List, Optional, Tuple
from unittest import mock

import torch
from mmdet.models.dense_heads import Mask2FormerHead
from mmdet.models.utils import preprocess_panoptic_gt
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample
from torch._subclasses import fake_tensor
from torch._subclasses.fake_tensor import FakeTensorMode, unset_fake_temporarily
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from umg_mm.registry import MODELS
from .estimator import (LORA, StepEstimate, adamw_with_state, block_bytes, fake_buildable,
                        shape_only_encode_text)
from .timing import tracked_peak_bytes

#: ground-truth segments per image of the synthetic batches (COCO-Stuff / COCO panoptic
#: average about 8-11; a generous default)
SEGMENTS = 16
#: elements of the shape tensors the fake mode keeps values of (levels x 2 and the like)
SHAPE_NUMEL = 64


def is_panoptic(cfg) -> bool:
    """Whether ``cfg``'s model is mmdet's panoptic Mask2Former (else mmseg's segmentor)."""
    return 'panoptic_head' in cfg['model']


def mask2former_model_cfg(cfg, lora: Optional[bool] = None,
                          grad_checkpointing: Optional[bool] = None) -> dict:
    """The config's model with no weights source; LoRA (rank 16 on the image tower) or none as
    given (``None``: as configured); gradient checkpointing of the image tower as given."""
    model = deepcopy(cfg['model'])
    model['clip'].update(checkpoint=None)
    backbone = model['backbone']
    if grad_checkpointing is not None:
        backbone['grad_checkpointing'] = grad_checkpointing
    if lora is not None:
        backbone['lora'] = dict(LORA) if lora else None
    return model


def crop_size(cfg) -> int:
    """The training crop side: mmseg's preprocessor ``size`` or mmdet's batch padding size."""
    model = cfg['model']
    size = model['data_preprocessor'].get('size')
    if size is None:
        augments = model['data_preprocessor'].get('batch_augments') or []
        size = next((a['size'] for a in augments if 'size' in a), None)
    if size is None:
        raise ValueError('the config sets neither model.data_preprocessor.size nor a batch '
                         'augment with a size; give image_size')
    return size if isinstance(size, int) else max(size)


def _label_map(size: int, segments: int, num_classes: int, index: int) -> torch.Tensor:
    """``(size, size)`` labels: ``segments`` horizontal bands of distinct classes."""
    band = torch.arange(size) * segments // size
    classes = (band + index * segments) % num_classes
    return classes[:, None].expand(size, size).clone()


def semantic_batch(batch_size: int, size: int, segments: int, num_classes: int) -> dict:
    """mmseg's preprocessed batch: ``inputs`` ``(B, 3, S, S)``, ``SegDataSample`` s with
    ``gt_sem_seg`` of ``segments`` classes each."""
    samples = []
    for i in range(batch_size):
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                                             ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=_label_map(size, segments, num_classes, i)[None])
        samples.append(sample)
    return dict(inputs=torch.randn(batch_size, 3, size, size), data_samples=samples)


def panoptic_batch(batch_size: int, size: int, segments: int, num_things: int,
                   num_stuff: int) -> dict:
    """mmdet's preprocessed panoptic batch: half the ``segments`` things (``gt_instances``
    masks), half stuff (``gt_sem_seg`` bands), as mmdet's ``PackDetInputs`` gives them."""
    things = segments // 2
    samples = []
    for i in range(batch_size):
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                                             batch_input_shape=(size, size)))
        bands = _label_map(size, segments, segments, 0)
        labels = torch.arange(things) % num_things
        masks = torch.stack([bands == t for t in range(things)]).to(torch.uint8).numpy()
        sample.gt_instances = InstanceData(labels=labels, masks=BitmapMasks(masks, size, size))
        stuff = num_things + (bands - things) % num_stuff
        sample.gt_sem_seg = PixelData(sem_seg=torch.where(bands < things, 255, stuff)[None])
        samples.append(sample)
    return dict(inputs=torch.randn(batch_size, 3, size, size), data_samples=samples)


def _gt_instances(head, samples) -> List[InstanceData]:
    """Per-segment labels and masks of the real synthetic ground truth (the head's own
    conversion)."""
    if hasattr(head, '_seg_data_to_instance_data'):
        return head._seg_data_to_instance_data(samples)
    labels, masks = zip(*(preprocess_panoptic_gt(
        s.gt_instances.labels, s.gt_instances.masks, s.gt_sem_seg.sem_seg,
        head.num_things_classes, head.num_stuff_classes) for s in samples))
    return [InstanceData(labels=label, masks=mask) for label, mask in zip(labels, masks)]


class _Matched:
    """What ``get_targets`` reads of a sampling result."""

    def __init__(self, num_pos: int):
        self.avg_factor = num_pos


class _FixedMatching(TorchDispatchMode):
    """Inside ``FakeTensorMode``: answers the loss's boolean selection of the matched queries
    (``mask_preds[mask_weights > 0]``) with the count of the fixed matching; any other boolean
    index is an error naming the op (``FakeTensorMode`` names any other op that reads values)."""

    def __init__(self):
        super().__init__()
        self.positives: Optional[int] = None

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.ops.aten.index.Tensor and any(
                i is not None and i.dtype == torch.bool for i in args[1]):
            mask = next(i for i in args[1] if i is not None)
            if self.positives is None or mask.dim() != 2:
                raise RuntimeError(f'{func} with a boolean index of shape {tuple(mask.shape)} '
                                   f'outside the matched-query selection reads values')
            index = torch.zeros(self.positives, dtype=torch.long, device=mask.device)
            return func(args[0], [index, index])
        return func(*args, **kwargs)

    def targets(self, head, cls_score, mask_pred, gt_instances, img_meta) -> Tuple:
        """``Mask2FormerHead._get_targets_single`` with query ``i`` matched to segment ``i``."""
        labels_gt, masks_gt = gt_instances.labels, gt_instances.masks
        num_queries, num_gts = cls_score.shape[0], labels_gt.shape[0]
        if num_gts > num_queries:
            raise ValueError(f'{num_gts} segments per image > {num_queries} queries')
        pos_inds = torch.arange(num_gts, device=cls_score.device)
        neg_inds = torch.arange(num_gts, num_queries, device=cls_score.device)
        labels = labels_gt.new_full((num_queries, ), head.num_classes, dtype=torch.long)
        labels[pos_inds] = labels_gt
        mask_weights = mask_pred.new_zeros((num_queries, ))
        mask_weights[pos_inds] = 1.0
        return (labels, labels_gt.new_ones((num_queries, )), masks_gt, mask_weights, pos_inds,
                neg_inds, _Matched(num_gts))


@contextmanager
def _shape_constants():
    """Shape tensors keep their values under ``FakeTensorMode``: mmdet's pixel decoder reads
    its levels' sizes as a tensor (``torch._shape_as_tensor``) that mmcv's deformable attention
    and the reference points iterate over; made by ``torch.tensor`` they are fake-tensor
    constants, and the fake mode computes ops on constants with up to :data:`SHAPE_NUMEL`
    elements for real (``fake_tensor.CONSTANT_NUMEL_LIMIT``, 1 by default)."""
    with mock.patch.object(torch, '_shape_as_tensor', lambda t: torch.tensor(tuple(t.shape))), \
            mock.patch.object(fake_tensor, 'CONSTANT_NUMEL_LIMIT', SHAPE_NUMEL):
        yield


@contextmanager
def _fixed_matching(head, gt_instances: List[InstanceData]):
    """The head's ground-truth conversion returns ``gt_instances`` and its matching is
    :class:`_FixedMatching`'s (see the module docstring)."""
    matching = _FixedMatching()
    gt_method = '_seg_data_to_instance_data' if hasattr(head, '_seg_data_to_instance_data') \
        else 'preprocess_gt'
    original_loss = Mask2FormerHead._loss_by_feat_single

    def loss_single(cls_scores, mask_preds, batch_gt_instances, batch_img_metas):
        matching.positives = sum(len(g.labels) for g in batch_gt_instances)
        return original_loss(head, cls_scores, mask_preds, batch_gt_instances, batch_img_metas)

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(head, gt_method,
                                              lambda *args, **kwargs: gt_instances))
        stack.enter_context(mock.patch.object(
            head, '_get_targets_single',
            lambda *args: matching.targets(head, *args)))
        stack.enter_context(mock.patch.object(head, '_loss_by_feat_single', loss_single))
        stack.enter_context(matching)
        yield


def _head(model):
    return model.decode_head if hasattr(model, 'decode_head') else model.panoptic_head


def _fake_step(model_cfg, batch_size: int, image_size: int, segments: int, amp: bool):
    """Memory parts, FLOPs, parameter counts and the largest block's bytes of one step."""
    scope = 'mmdet' if model_cfg['type'] == 'OpenVocabMask2Former' else 'mmseg'
    with DefaultScope.overwrite_default_scope(scope), \
            FakeTensorMode(allow_non_fake_inputs=True):
        with fake_buildable():
            model = MODELS.build(model_cfg).train()
        encoder = model.text_encoder
        encoder.encode_text = shape_only_encode_text(encoder)
        head = _head(model)
        if scope == 'mmseg':
            head.set_vocabulary(model.train_vocabulary)
        with torch.no_grad():  # the frozen text tower's class embeddings, cached after step 1
            head.cls_embed.class_embeddings()
        with unset_fake_temporarily():
            if scope == 'mmseg':
                batch = semantic_batch(batch_size, image_size, segments, head.num_classes)
            else:
                batch = panoptic_batch(batch_size, image_size, segments,
                                       head.num_things_classes, head.num_stuff_classes)
            gt_instances = _gt_instances(head, batch['data_samples'])
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = adamw_with_state(params, lr=1e-4)
        flops = FlopCounterMode(display=False)

        def step():
            with flops, _shape_constants(), _fixed_matching(head, gt_instances):
                autocast = torch.autocast('cpu', dtype=torch.bfloat16) if amp else nullcontext()
                with autocast:
                    losses = model(**batch, mode='loss')
                sum(v for k, v in losses.items() if 'loss' in k).backward()
                optimizer.step()

        memory = tracked_peak_bytes(step, model, optimizer)
        parameters = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in params)
        block = block_bytes(model)
    return memory, flops.get_total_flops(), parameters, trainable, block


def estimate_mask2former_step(cfg, batch_size: Optional[int] = None, segments: int = SEGMENTS,
                              image_size: Optional[int] = None, lora: Optional[bool] = None,
                              grad_checkpointing: Optional[bool] = None,
                              amp: bool = False) -> StepEstimate:
    """One rank's step of the semantic or panoptic config ``cfg`` (see the module docstring).

    Args:
        cfg: an mmengine ``Config`` of an ``OpenVocabEncoderDecoder`` with a Mask2Former head or
            of an ``OpenVocabMask2Former``.
        batch_size: images per rank (``None``: the config's ``train_dataloader.batch_size``).
        segments: ground-truth segments per image.
        image_size: crop side (``None``: the config's, :func:`crop_size`).
        lora: LoRA (rank 16) on the image tower (``None``: as configured; ``False``: none).
        grad_checkpointing: of the image tower (``None``: as configured).
        amp: autocast (bfloat16 on the CPU stands in for CUDA's float16: both 2 bytes).

    Returns:
        A :class:`StepEstimate` (no contrastive losses, nothing gathered: Mask2Former's losses
        are per image); ``losses`` is 0 and the deformable attention's PyTorch-path surplus is
        part of ``activations`` (an upper bound, see the module docstring).
    """
    if batch_size is None:
        batch_size = cfg['train_dataloader']['batch_size']
    image_size = image_size or crop_size(cfg)
    model_cfg = mask2former_model_cfg(cfg, lora, grad_checkpointing)
    memory, flops, parameters, trainable, block = _fake_step(
        model_cfg, batch_size, image_size, segments, amp)
    return StepEstimate(
        weights=memory['weights'], gradients=memory['gradients'], optimizer=memory['optimizer'],
        activations=memory['activations'], losses=0, flops=flops, gathered_bytes=0,
        batch_size=batch_size, trainable=trainable, parameters=parameters,
        block_bytes=block[0], block_trainable_bytes=block[1])


__all__ = ['SEGMENTS', 'crop_size', 'estimate_mask2former_step',
           'is_panoptic', 'mask2former_model_cfg', 'panoptic_batch', 'semantic_batch']
