"""Per-rank memory and FLOPs of one pretraining step of a config, planned without weights.

:func:`estimate_pretrain_step` builds the config's real model under PyTorch's
``FakeTensorMode`` (tensors with shapes, dtypes and devices but no storage: a ViT-L/14 or an
EVA02-E/14 costs no memory here), runs one training step (forward, backward, AdamW step) on a
synthetic batch of the config's shape (:func:`~umg_mm.benchmark.synthetic_batch.umg_batch`) and
reads:

* memory by torch's ``MemTracker`` (weights, gradients, optimizer states and activations at the
  step's peak; the AdamW states exist before the step, as from the second step on), FLOPs by
  torch's ``FlopCounterMode``;
* the contrastive losses apart: their string bookkeeping depends on values (``torch.unique`` of
  string ids), which fake tensors do not have, so in the fake step each loss returns a zero tied
  to its inputs and its input shapes are recorded; each loss is then run for real on random
  embeddings at ``fit_images`` and ``2 * fit_images`` images per rank, ``world_size`` ranks
  simulated (:mod:`~umg_mm.benchmark.simulated_ranks`), and its peak memory and FLOPs
  extrapolated to the batch by ``a n^2 + b n`` (local rows x global columns, and rows); tags
  that repeat saturate a vocabulary, so this is an upper bound. The losses' peaks are added to
  the step's (their saved tensors live until the backward pass);
* bytes all-gathered per step (received by one rank, forward; the backward moves the floats
  once more) from the losses' shapes.

mmcv's RoIAlign has no fake-tensor kernel: torchvision's ``roi_align`` (same results, STACK.md)
stands in for it. The text encoder's prompt cutting reads token values: here each distinct string
is encoded at the full context length (an upper bound of the text tower's memory and FLOPs).
"""
import math
import sys
from contextlib import ExitStack, contextmanager, nullcontext
from copy import deepcopy
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional
from unittest import mock

import torch
from torch._subclasses.fake_tensor import FakeTensorMode, unset_fake_temporarily
from torch.utils.flop_counter import FlopCounterMode
from torchvision.ops import RoIAlign as TorchvisionRoIAlign

from umg_mm.models.losses import string_ids
from umg_mm.registry import MODELS
from .simulated_ranks import replay_rank, run_ranks
from .synthetic_batch import umg_batch
from .timing import tracked_peak_bytes

#: usable memory of the named GPUs (nvidia-smi's total: H100 80GB 81,559 MiB, H200 143,771 MiB),
#: less 1 GiB for the CUDA context and NCCL buffers
GPU_BYTES = {80: 81_559 * 2**20 - 2**30, 141: 143_771 * 2**20 - 2**30}
#: a step fits when its estimated peak times this margin (allocator fragmentation) fits
FRAGMENTATION = 1.1
#: LoRA of both towers as the benchmark's ``lora`` section measures it
LORA = dict(r=16, alpha=32, dropout=0.0)


@dataclass
class StepEstimate:
    """One rank's step. Bytes at the step's peak; ``flops`` of the whole rank's step."""
    weights: int
    gradients: int
    optimizer: int
    activations: int
    losses: int
    flops: float
    gathered_bytes: int
    batch_size: int
    trainable: int
    parameters: int
    loss_rows: Dict[str, List[int]] = field(default_factory=dict)
    #: bytes of the parameters, and of the trainable ones, of the largest transformer block
    #: (the unit FSDP gathers whole)
    block_bytes: int = 0
    block_trainable_bytes: int = 0

    @property
    def peak(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations + self.losses

    @property
    def flops_per_image(self) -> float:
        return self.flops / self.batch_size

    def fits(self, gpu: int) -> bool:
        """Whether the step fits the ``gpu`` (80 or 141 GB) with :data:`FRAGMENTATION`."""
        return self.peak * FRAGMENTATION <= GPU_BYTES[gpu]

    def fsdp(self, world_size: int) -> 'StepEstimate':
        """The step under FSDP full sharding (mmengine's ``FSDPStrategy``, one unit per
        transformer block): each rank keeps ``1 / world_size`` of the parameters, gradients and
        optimizer states, plus two blocks' parameters gathered whole (the one computing and the
        one prefetched) and one block's gradients before their reduce-scatter; it all-gathers
        the parameters in the forward and again in the backward pass. Activations unchanged."""
        trainable = self.gradients or self.optimizer
        return replace(
            self, weights=self.weights // world_size + 2 * self.block_bytes,
            gradients=self.gradients // world_size + (self.block_trainable_bytes if trainable
                                                      else 0),
            optimizer=self.optimizer // world_size,
            gathered_bytes=self.gathered_bytes + 2 * self.weights * (world_size - 1) // world_size)


def block_bytes(model: torch.nn.Module) -> tuple:
    """Bytes of the parameters, and of the trainable ones, of the largest member of any
    ``nn.ModuleList`` (the towers' transformer blocks)."""
    blocks = [block for module in model.modules() if isinstance(module, torch.nn.ModuleList)
              for block in module]
    sizes = [(sum(p.numel() * p.element_size() for p in b.parameters()),
              sum(p.numel() * p.element_size() for p in b.parameters() if p.requires_grad))
             for b in blocks]
    return max(sizes, default=(0, 0))


@contextmanager
def fake_buildable():
    """Building a model under ``FakeTensorMode``, two things that read values work:

    * ``nn.Module.to`` that would change nothing (the CPU, the floats' own dtype) returns the
      module as it is: open_clip's ``create_model`` and peft's LoRA injection move fake
      parameters to where they are, which ``FakeTensorMode`` refuses (``Couldn't swap``);
    * timm's ``calculate_drop_path_rates`` (``.item()`` of a ``linspace``) runs on real
      tensors, wherever timm imported it.
    """
    from timm.layers import drop
    to, drop_path_rates = torch.nn.Module.to, drop.calculate_drop_path_rates

    def to_unless_cpu(module, *args, **kwargs):
        device, dtype, _, _ = torch._C._nn._parse_to(*args, **kwargs)
        tensors = list(module.parameters()) + list(module.buffers())
        if (device is None or device.type == 'cpu') and all(
                dtype is None or not t.is_floating_point() or t.dtype == dtype for t in tensors):
            return module
        return to(module, *args, **kwargs)

    def real_drop_path_rates(*args, **kwargs):
        with unset_fake_temporarily():
            return drop_path_rates(*args, **kwargs)

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(torch.nn.Module, 'to', to_unless_cpu))
        for module in list(sys.modules.values()):
            if getattr(module, 'calculate_drop_path_rates', None) is drop_path_rates:
                stack.enter_context(mock.patch.object(
                    module, 'calculate_drop_path_rates', real_drop_path_rates))
        yield


def pretrain_model_cfg(cfg, lora: Optional[bool] = None,
                       grad_checkpointing: Optional[bool] = None):
    """The config's model with no weights source (random init): LoRA on both towers
    (``True``: the config's LoRA settings where it has them, else :data:`LORA`), full tuning
    (``False``) or as configured (``None``); gradient checkpointing as given (``None``: as
    configured)."""
    model = deepcopy(cfg['model'])
    model['clip'].update(checkpoint=None)
    backbone, text = model['backbone'], model['text_encoder']
    if grad_checkpointing is not None:
        backbone['grad_checkpointing'] = grad_checkpointing
    if lora:
        backbone.update(lora=backbone.get('lora') or dict(LORA), frozen_stages='all')
        text.update(frozen=True, lora=text.get('lora') or dict(LORA))
    elif lora is not None:
        backbone.update(lora=None, frozen_stages=-1)
        text.update(frozen=False, lora=None)
    return model


def adamw_with_state(params: List[torch.Tensor], lr: float) -> torch.optim.AdamW:
    """AdamW whose states exist already, as from the second step on (they then count in every
    step's peak): a step on zero gradients creates them, the gradients are dropped after
    (``zero_grad``'s default)."""
    optimizer = torch.optim.AdamW(params, lr=lr)
    for param in params:
        param.grad = torch.zeros_like(param)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return optimizer


@contextmanager
def _stubbed_losses(model, shapes: Dict[str, List[int]]):
    """Each contrastive loss returns a zero tied to its inputs and records ``[Nv, Nt, D,
    pairs]``."""
    patches = []
    for name, loss in model.losses.items():
        def stub(visual, texts, text_ids, pairs, name=name, loss=loss):
            shapes[name] = [visual.shape[0], texts.shape[0], visual.shape[1], pairs.shape[0]]
            return (visual.float().sum() + texts.float().sum() + loss.logit_scale()) * 0.
        patches.append(mock.patch.object(loss, 'forward', stub))
    for patch in patches:
        patch.start()
    try:
        yield
    finally:
        for patch in patches:
            patch.stop()


def shape_only_encode_text(encoder):
    """``encoder.encode_text`` without its value-dependent steps (tokens are fake): each distinct
    string encoded once at the full context length (the real encoder cuts each batch after its
    longest prompt: an upper bound)."""
    context = getattr(encoder.tokenizer, 'context_length', 77)

    def encode_text(texts, normalize=True):
        unique = list(dict.fromkeys(texts))
        tokens = torch.zeros(len(unique), context, dtype=torch.long)
        embeddings = torch.cat([
            encoder.clip.encode_text(tokens[start:start + encoder.batch_size], normalize=normalize)
            for start in range(0, len(unique), encoder.batch_size)])
        if len(unique) == len(texts):
            return embeddings
        position = {text: i for i, text in enumerate(unique)}
        return embeddings[torch.tensor([position[text] for text in texts])]

    return encode_text


def _fake_step(model_cfg, batch_size: int, image_size: int, counts: dict, amp: bool):
    """Memory parts, FLOPs and the losses' input shapes of one step of the fake model."""
    shapes: Dict[str, List[int]] = {}
    with FakeTensorMode(allow_non_fake_inputs=True):
        with fake_buildable():
            model = MODELS.build(model_cfg).train()
        roi = model.roi_align
        model.roi_align = TorchvisionRoIAlign(roi.output_size, roi.spatial_scale,
                                              roi.sampling_ratio, roi.aligned)
        model.text_encoder.encode_text = shape_only_encode_text(model.text_encoder)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = adamw_with_state(params, lr=1e-5)
        batch = umg_batch(batch_size, image_size, **counts)
        flops = FlopCounterMode(display=False)

        def step():
            with flops, _stubbed_losses(model, shapes):
                autocast = torch.autocast('cpu', dtype=torch.bfloat16) if amp else nullcontext()
                with autocast:
                    losses = model(**batch, mode='loss')
                sum(v for k, v in losses.items() if k.startswith('loss')).backward()
                optimizer.step()

        memory = tracked_peak_bytes(step, model, optimizer)
        parameters = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in params)
        block = block_bytes(model)
    return memory, flops.get_total_flops(), shapes, parameters, trainable, block


def _loss_inputs(rank: int, shape: List[int], dim: int) -> dict:
    """Random inputs of a loss with ``shape = [Nv, Nt, D, pairs]`` rows of the fake step: texts
    owned in turn by the visuals, strings distinct across ranks (an upper bound on columns)."""
    num_v, num_t = shape[0], shape[1]
    owners = torch.arange(num_t) % max(num_v, 1)
    generator = torch.Generator().manual_seed(rank)
    return dict(visual=torch.randn(num_v, dim, generator=generator),
                texts=torch.randn(num_t, dim, generator=generator),
                text_ids=string_ids([f'{rank}-{t}' for t in range(num_t)]),
                pairs=torch.stack([owners, torch.arange(num_t)], dim=1))


def _measure_loss(loss_cfg: dict, shape: List[int], world_size: int) -> tuple:
    """Peak bytes and FLOPs of rank 0's forward and backward of a loss, others simulated."""
    loss_fn = MODELS.build(loss_cfg)
    ranks = [_loss_inputs(r, shape, shape[2]) for r in range(world_size)]

    def run(inputs):
        local = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in inputs.items()}
        loss_fn(**local).backward()

    _, record = run_ranks(lambda r: run(ranks[r]), world_size)
    flops = FlopCounterMode(display=False)
    with flops:
        replay_rank(lambda: run(ranks[0]), record)
    return tracked_peak_bytes(lambda: replay_rank(lambda: run(ranks[0]), record))['total'], \
        flops.get_total_flops()


def _quadratic(n1: float, y1: float, n2: float, y2: float, n: float) -> float:
    """``a n^2 + b n`` through ``(n1, y1)`` and ``(n2, y2)``, at ``n``."""
    a = (y2 / n2 - y1 / n1) / (n2 - n1)
    b = y1 / n1 - a * n1
    return max(a * n * n + b * n, 0.)


#: the losses' measurements by their inputs: the same for every batch size of a config
_LOSS_FITS: Dict[str, Dict[str, Dict[int, tuple]]] = {}


def _loss_fits(model_cfg: dict, image_size: int, counts: dict, amp: bool, world_size: int,
               fit_images: int) -> Dict[str, Dict[int, tuple]]:
    """Peak bytes and FLOPs of each loss at ``fit_images`` and ``2 * fit_images`` images per
    rank (remembered for the next batch size of the same model and counts)."""
    key = repr((model_cfg, image_size, counts, amp, world_size, fit_images))
    if key not in _LOSS_FITS:
        small = {n: _fake_step(model_cfg, n, image_size, counts, amp)[2]
                 for n in (fit_images, 2 * fit_images)}
        _LOSS_FITS[key] = {
            name: {n: _measure_loss(model_cfg[f'{name}_loss'], small[n][name], world_size)
                   for n in small}
            for name in small[fit_images]}
    return _LOSS_FITS[key]


def estimate_pretrain_step(cfg, world_size: int = 8, batch_size: Optional[int] = None,
                           regions: int = 32, segments: int = 64, texts: int = 3,
                           image_size: Optional[int] = None, lora: Optional[bool] = None,
                           grad_checkpointing: Optional[bool] = None, amp: bool = False,
                           fit_images: int = 2) -> StepEstimate:
    """One rank's step of the pretraining config ``cfg`` (see the module docstring).

    Args:
        cfg: an mmengine ``Config`` of a ``UMGCLIPPretrainer``.
        world_size: ranks of the global batch.
        batch_size: images per rank (``None``: the config's ``train_dataloader.batch_size``).
        regions, segments, texts: per image, and texts per region / segment.
        image_size: input side (``None``: the tower's native size).
        lora: LoRA on both towers (``True``), full tuning (``False``), as configured
            (``None``); see :func:`pretrain_model_cfg`.
        grad_checkpointing: ``None`` as configured.
        amp: autocast (bfloat16 on the CPU stands in for CUDA's float16: both 2 bytes).
        fit_images: images per rank of the smaller of the two real loss runs.
    """
    if batch_size is None:
        batch_size = cfg['train_dataloader']['batch_size']
    model_cfg = pretrain_model_cfg(cfg, lora, grad_checkpointing)
    if image_size is None:
        import open_clip
        clip_cfg = model_cfg['clip'].get('model_cfg') or \
            open_clip.get_model_config(model_cfg['clip']['model_name'])
        image_size = clip_cfg['vision_cfg']['image_size']
        image_size = image_size if isinstance(image_size, int) else image_size[0]
    counts = dict(regions=regions, segments=segments, texts=texts)
    memory, flops, shapes, parameters, trainable, block = _fake_step(
        model_cfg, batch_size, image_size, counts, amp)
    # the fake step at fit_images and 2 * fit_images gives the losses' shapes per image count
    loss_bytes, loss_flops, gathered = 0., 0., 0
    fits = _loss_fits(model_cfg, image_size, counts, amp, world_size, fit_images)
    for name, shape in shapes.items():
        (n1, (m1, f1)), (n2, (m2, f2)) = sorted(fits[name].items())
        loss_bytes += _quadratic(n1, m1, n2, m2, batch_size)
        loss_flops += _quadratic(n1, f1, n2, f2, batch_size)
        num_v, num_t, dim, num_pairs = shape
        gathered += world_size * (num_v * dim * 4 + num_t * (dim * 4 + 8) + num_pairs * 16)
    return StepEstimate(
        weights=memory['weights'], gradients=memory['gradients'], optimizer=memory['optimizer'],
        activations=memory['activations'], losses=int(loss_bytes), flops=flops + loss_flops,
        gathered_bytes=gathered, batch_size=batch_size, trainable=trainable,
        parameters=parameters, loss_rows=shapes, block_bytes=block[0],
        block_trainable_bytes=block[1])


def largest_batch(small: StepEstimate, large: StepEstimate, gpu: int = 80) -> int:
    """The largest batch per GPU whose step fits ``gpu``, the peak taken as linear in the batch
    through two estimates (``small.batch_size < large.batch_size``): exact for the parts that
    are (weights, gradients, optimizer: constant; activations and Mask2Former's per-image
    losses: linear); the contrastive losses grow as ``a n^2 + b n``, a small share of a step
    (docs/benchmark.md), so beyond ``large`` it is an estimate. 0 if not even one image
    fits."""
    if large.batch_size <= small.batch_size:
        raise ValueError(f'largest_batch needs two batch sizes, small < large; got '
                         f'{small.batch_size} and {large.batch_size}')
    per_image = (large.peak - small.peak) / (large.batch_size - small.batch_size)
    fixed = small.peak - per_image * small.batch_size
    budget = GPU_BYTES[gpu] / FRAGMENTATION - fixed
    if per_image <= 0:
        raise ValueError(f'the step\'s peak does not grow with the batch ({small.peak} bytes '
                         f'at {small.batch_size}, {large.peak} at {large.batch_size})')
    return max(math.floor(budget / per_image), 0)


__all__ = ['GPU_BYTES', 'StepEstimate', 'adamw_with_state', 'block_bytes', 'estimate_pretrain_step',
           'fake_buildable', 'largest_batch', 'pretrain_model_cfg', 'shape_only_encode_text']
