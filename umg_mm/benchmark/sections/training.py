"""Pretraining steps: all three losses vs image-text only, LoRA vs full tuning, AMP vs fp32.

Every step is what mmengine's ``train_step`` does after preprocessing (the batch is preprocessed
once): ``loss`` mode forward under the optimizer wrapper's ``optim_context`` (autocast with AMP),
``parse_losses``, then ``update_params`` (backward and an AdamW step). The model is the
pretraining config ``configs/_base_/models/umg_clip_pretrain_vit-b16.py`` on ``--model``'s
architecture with random weights; the batch is ``--batch-size`` images of the synthetic world
through the pretraining pipeline of ``configs/_base_/datasets/synthetic_umg_pretrain.py``, resized
to the pretraining resolution (the smallest of ``--sizes``).
"""
from copy import deepcopy
from typing import Callable, Dict

import torch
from mmengine.config import ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from torch import nn

from umg_mm.registry import DATASETS, MODELS
from ..context import BenchmarkContext, with_image_size
from ..result import Ratio, SectionResult, SectionSkipped
from ..timing import (cuda_peak_bytes, interleaved_medians, peak_rss_bytes, reset_peak_rss,
                      rss_bytes, run_in_fresh_process)

PRETRAIN_MODEL = '_base_/models/umg_clip_pretrain_vit-b16.py'
PRETRAIN_DATA = '_base_/datasets/synthetic_umg_pretrain.py'
#: LoRA of both towers as trap 7 of the stack notes measures it (attention + MLP, rank 16)
LORA = dict(r=16, alpha=32, dropout=0.0)
MIB = 2**20


def pretrainer_cfg(ctx: BenchmarkContext, losses: str = 'all',
                   lora: bool = False) -> ConfigDict:
    """The pretraining model config on ``ctx``'s architecture.

    Args:
        ctx: the run's settings.
        losses: ``'all'`` (image-, region- and pixel-text, as configured) or ``'image_text'``
            (region and pixel losses switched off).
        lora: LoRA adapters (``LORA``) on both frozen towers instead of full tuning.
    """
    cfg = ctx.config(PRETRAIN_MODEL).model
    clip_cfg = with_image_size(ctx.clip_cfg, ctx.train_size)
    cfg['clip'] = dict(model_cfg=clip_cfg, checkpoint=None)
    if losses == 'image_text':
        cfg.update(region_text_loss=None, pixel_text_loss=None, pixel_dense_loss=None)
    elif losses != 'all':
        raise ValueError(f"losses={losses!r}; use 'all' or 'image_text'")
    if lora:
        cfg['backbone'].update(lora=dict(LORA), frozen_stages='all')  # peft freezes the base
        cfg['text_encoder'].update(frozen=True, lora=dict(LORA))
    return cfg


def build_pretrainer(ctx: BenchmarkContext, losses: str = 'all', lora: bool = False) -> nn.Module:
    """The pretrainer of :func:`pretrainer_cfg`, in train mode on ``ctx.device``."""
    return MODELS.build(pretrainer_cfg(ctx, losses, lora)).to(ctx.torch_device).train()


def pretrain_batch(ctx: BenchmarkContext, model: nn.Module) -> dict:
    """``ctx.batch_size`` synthetic-world samples, preprocessed by ``model`` (``inputs`` and
    ``data_samples`` on ``ctx.device``)."""
    pipeline = deepcopy(ctx.config(PRETRAIN_DATA).train_pipeline)
    for transform in pipeline:
        if 'Resize' in transform['type']:
            transform['scale'] = (ctx.train_size, ctx.train_size)
    with DefaultScope.overwrite_default_scope('mmengine'):
        dataset = DATASETS.build(dict(
            type='UMGDataset', data_root=ctx.world(), ann_file='umg/train.jsonl',
            data_prefix=dict(img='images/train'), pipeline=pipeline))
    data = pseudo_collate([dataset[i] for i in range(ctx.batch_size)])
    return model.data_preprocessor(data, training=True)


def optim_wrapper(model: nn.Module, amp: bool = False) -> OptimWrapper:
    """AdamW over ``model``'s trainable parameters, in mmengine's (AMP) optimizer wrapper."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.1)
    if amp:
        from mmengine.optim import AmpOptimWrapper
        return AmpOptimWrapper(optimizer=optimizer, dtype='float16')
    return OptimWrapper(optimizer=optimizer)


def train_step(model: nn.Module, wrapper: OptimWrapper, batch: dict) -> Callable[[], None]:
    """One training step of ``model`` on ``batch`` (mmengine's ``train_step`` after
    preprocessing)."""

    def step():
        with wrapper.optim_context(model):
            losses = model(**batch, mode='loss')
        parsed, _ = model.parse_losses(losses)
        wrapper.update_params(parsed)

    return step


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def step_peak_memory(ctx: BenchmarkContext, lora: bool = False, amp: bool = False) -> Dict:
    """Peak memory of building the pretrainer and running two training steps, in a process of
    its own (call it through :func:`~umg_mm.benchmark.timing.run_in_fresh_process`).

    On CUDA: ``torch.cuda.max_memory_allocated`` over the steps (weights, gradients, optimizer
    states and activations). On the CPU: the peak resident memory of the process over building
    the model and the steps (its high-water mark reset first) minus its resident memory before
    (the same items, plus allocator overhead and the transient memory of building).

    Returns:
        ``dict(peak_bytes=..., method=...)``.
    """
    import umg_mm  # noqa: F401  (a fresh interpreter: register umg_mm's modules)
    torch.set_num_threads(ctx.threads)
    cuda = ctx.torch_device.type == 'cuda'
    resettable = not cuda and reset_peak_rss()
    baseline = 0 if cuda else rss_bytes() if resettable else peak_rss_bytes()
    model = build_pretrainer(ctx, 'all', lora)
    step = train_step(model, optim_wrapper(model, amp), pretrain_batch(ctx, model))

    def two_steps():
        for _ in range(2):
            step()

    if cuda:
        return dict(peak_bytes=cuda_peak_bytes(two_steps, ctx.torch_device),
                    method='torch.cuda.max_memory_allocated over two steps')
    two_steps()
    method = ('peak RSS (VmHWM, reset via /proc/self/clear_refs) minus RSS before the build'
              if resettable else 'growth of ru_maxrss')
    return dict(peak_bytes=peak_rss_bytes() - baseline,
                method=f'{method}, fresh process, model build + two steps')


def run_pretrain_step(ctx: BenchmarkContext) -> SectionResult:
    """One step with image-, region- and pixel-text losses vs image-text only, same batch and
    the same towers (the image-text model shares the full model's backbone and text tower)."""
    full = build_pretrainer(ctx, 'all')
    image_text = build_pretrainer(ctx, 'image_text')
    image_text.backbone, image_text.text_encoder = full.backbone, full.text_encoder
    batch = pretrain_batch(ctx, full)
    steps = [train_step(full, optim_wrapper(full), batch),
             train_step(image_text, optim_wrapper(image_text), batch)]
    (three, one), _ = interleaved_medians(ctx.clock, steps, ctx.repeats, ctx.warmup)
    result = SectionResult()
    result.ratios['three_losses_vs_image_text'] = Ratio(
        'pretraining step, image+region+pixel-text losses vs image-text only', three, one, 's')
    samples = batch['data_samples']
    result.measurements.update(
        regions=sum(len(s.gt_instances) for s in samples),
        masks=sum(len(s.gt_segments.masks) for s in samples),
        batch_size=len(samples), image_size=ctx.train_size)
    checkpointing = pretrainer_cfg(ctx)['backbone'].get('grad_checkpointing', False)
    result.notes.append(f'forward + backward + AdamW step, backbone gradient checkpointing '
                        f'{"on" if checkpointing else "off"} as in configs/{PRETRAIN_MODEL}')
    return result


def _memory_ratio(ctx: BenchmarkContext, what: str, measured: dict, reference: dict) -> Ratio:
    return Ratio(what, measured['peak_bytes'] / MIB, reference['peak_bytes'] / MIB, 'MiB')


def run_lora(ctx: BenchmarkContext) -> SectionResult:
    """LoRA (rank 16 on attention and MLP of both towers) vs full tuning of the pretrainer:
    trainable parameters, step time (same batch) and peak memory (each in a fresh process)."""
    full = build_pretrainer(ctx, 'all')
    lora = build_pretrainer(ctx, 'all', lora=True)
    batch = pretrain_batch(ctx, full)
    steps = [train_step(lora, optim_wrapper(lora), batch),
             train_step(full, optim_wrapper(full), batch)]
    (lora_s, full_s), _ = interleaved_medians(ctx.clock, steps, ctx.repeats, ctx.warmup)
    result = SectionResult()
    result.ratios['trainable_parameters'] = Ratio(
        'trainable parameters, LoRA vs full tuning', trainable_parameters(lora),
        trainable_parameters(full), 'parameters')
    result.ratios['step_time'] = Ratio('pretraining step time, LoRA vs full tuning', lora_s,
                                       full_s, 's')
    del full, lora, steps, batch
    lora_memory = run_in_fresh_process(step_peak_memory, ctx, True, False)
    full_memory = run_in_fresh_process(step_peak_memory, ctx, False, False)
    result.ratios['peak_memory'] = _memory_ratio(
        ctx, 'peak memory of a training step, LoRA vs full tuning', lora_memory, full_memory)
    result.measurements['memory_method'] = full_memory['method']
    result.notes.append(f'LoRA {LORA} on attn, mlp.c_fc, mlp.c_proj of both towers')
    return result


def run_amp(ctx: BenchmarkContext) -> SectionResult:
    """CUDA only: the pretraining step with AMP (fp16 autocast, dynamic loss scaling) vs fp32:
    images/s and peak memory."""
    if ctx.torch_device.type != 'cuda':
        raise SectionSkipped(f'AMP runs on CUDA only; this run is on {ctx.device}')
    if not ctx.amp:
        raise SectionSkipped('AMP switched off (--no-amp)')
    fp32 = build_pretrainer(ctx, 'all')
    amp = build_pretrainer(ctx, 'all')
    amp.load_state_dict(fp32.state_dict())
    batch = pretrain_batch(ctx, fp32)
    steps = [train_step(amp, optim_wrapper(amp, amp=True), batch),
             train_step(fp32, optim_wrapper(fp32), batch)]
    (amp_s, fp32_s), _ = interleaved_medians(ctx.clock, steps, ctx.repeats, ctx.warmup)
    images = ctx.batch_size
    result = SectionResult()
    result.ratios['images_per_s'] = Ratio('pretraining images/s, AMP vs fp32', images / amp_s,
                                          images / fp32_s, 'images/s')
    del fp32, amp, steps, batch
    torch.cuda.empty_cache()
    amp_memory = run_in_fresh_process(step_peak_memory, ctx, False, True)
    fp32_memory = run_in_fresh_process(step_peak_memory, ctx, False, False)
    result.ratios['peak_memory'] = _memory_ratio(
        ctx, 'peak memory of a pretraining step, AMP vs fp32', amp_memory, fp32_memory)
    result.measurements.update(
        device_name=torch.cuda.get_device_name(ctx.torch_device), batch_size=images,
        image_size=ctx.train_size, images_per_s_amp=images / amp_s,
        peak_memory_amp_mib=amp_memory['peak_bytes'] / MIB)
    return result
