"""The checks of ``tools/gpu_check.sh`` that run in Python, on CUDA (or the CPU, to test them).

* mmcv's compiled ops against a reference: ``RoIAlign`` (CUDA kernel vs the CPU kernel; on the
  CPU: mmcv's CPU kernel vs torchvision's ``roi_align``) and ``MultiScaleDeformableAttention``
  (CUDA kernel vs mmcv's PyTorch path on the CPU; on the CPU: that path against itself on a
  permuted batch, which only checks that it runs);
* one pretraining step (AMP on CUDA) of the model, its measured peak memory beside the step
  estimator's prediction for the same model and batch;
* one panoptic training step of the open-vocabulary Mask2Former.

:func:`run_checks` returns a JSON-able report; ``python -m umg_mm.benchmark.gpu_check`` writes it.
"""
import argparse
import json
import os.path as osp
import platform
from typing import Callable, Dict

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from umg_mm.registry import MODELS
from umg_mm.utils.atomic_io import write_json_atomic
from .context import TINY_MODEL, BenchmarkContext, clip_config, with_image_size
from .estimator import estimate_pretrain_step
from .sections.training import optim_wrapper, pretrainer_cfg
from .synthetic_batch import umg_batch
from .timing import cuda_peak_bytes, tracked_peak_bytes

TOLERANCE = 1e-4
PANOPTIC_MODEL = 'umg/umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic.py'


def _compare(measured: torch.Tensor, reference: torch.Tensor) -> Dict:
    diff = (measured.float().cpu() - reference.float().cpu()).abs().max().item()
    return dict(max_abs_diff=diff, ok=diff <= TOLERANCE)


def check_roi_align(device: torch.device) -> Dict:
    """mmcv ``RoIAlign`` on ``device`` vs the CPU kernel (or torchvision's, on the CPU)."""
    from mmcv.ops import roi_align
    from torchvision.ops import roi_align as tv_roi_align
    generator = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 8, 32, 32, generator=generator)
    rois = torch.tensor([[0, 1., 2., 20., 25.], [1, 4., 4., 30., 12.], [0, 0., 0., 31., 31.]])
    args = dict(output_size=(7, 7), spatial_scale=0.5, sampling_ratio=2, aligned=True)
    mmcv_args = (args['output_size'], args['spatial_scale'], args['sampling_ratio'], 'avg',
                 args['aligned'])  # an autograd Function: positional only
    measured = roi_align(feats.to(device), rois.to(device), *mmcv_args)
    reference = roi_align(feats, rois, *mmcv_args) if device.type == 'cuda' else \
        tv_roi_align(feats, rois, **args)
    return _compare(measured, reference)


def check_deformable_attention(device: torch.device) -> Dict:
    """mmcv's multi-scale deformable attention on ``device`` vs its PyTorch path on the CPU."""
    from mmcv.ops.multi_scale_deform_attn import (MultiScaleDeformableAttnFunction,
                                                  multi_scale_deformable_attn_pytorch)
    generator = torch.Generator().manual_seed(0)
    shapes = torch.tensor([[16, 16], [8, 8]])
    starts = torch.cat([shapes.new_zeros(1), shapes.prod(1).cumsum(0)[:-1]])
    value = torch.randn(2, int(shapes.prod(1).sum()), 4, 8, generator=generator)
    locations = torch.rand(2, 10, 4, 2, 4, 2, generator=generator)
    weights = torch.rand(2, 10, 4, 2, 4, generator=generator)
    weights = weights / weights.sum(dim=(-1, -2), keepdim=True)
    reference = multi_scale_deformable_attn_pytorch(value, shapes, locations, weights)
    if device.type == 'cuda':
        measured = MultiScaleDeformableAttnFunction.apply(
            *(t.to(device) for t in (value, shapes, starts, locations, weights)), 64)
    else:  # the CPU has the PyTorch path only: a batch permutation must permute its output
        measured = multi_scale_deformable_attn_pytorch(value.flip(0), shapes, locations.flip(0),
                                                       weights.flip(0)).flip(0)
    return _compare(measured, reference)


def _peak(fn: Callable[[], object], device: torch.device, *track) -> int:
    if device.type == 'cuda':
        return cuda_peak_bytes(fn, device)
    return tracked_peak_bytes(fn, *track)['total']


def check_pretrain_step(ctx: BenchmarkContext, regions: int = 32, segments: int = 64,
                        texts: int = 3) -> Dict:
    """One pretraining step (AMP with CUDA) on ``ctx.batch_size`` synthetic images: measured
    peak memory (weights, gradients, optimizer states, activations) and the estimator's."""
    model_cfg = pretrainer_cfg(ctx)
    model = MODELS.build(model_cfg).to(ctx.torch_device).train()
    amp = ctx.amp and ctx.torch_device.type == 'cuda'
    wrapper = optim_wrapper(model, amp=amp)
    batch = umg_batch(ctx.batch_size, ctx.train_size, regions, segments, texts,
                      device=ctx.torch_device)

    def step():
        with wrapper.optim_context(model):
            parsed, _ = model.parse_losses(model(**batch, mode='loss'))
        wrapper.update_params(parsed)

    step()  # optimizer states exist from here on, as in training
    measured = _peak(step, ctx.torch_device, model, wrapper.optimizer)
    estimate = estimate_pretrain_step(
        Config(dict(model=model_cfg, train_dataloader=dict(batch_size=ctx.batch_size))),
        world_size=1, regions=regions, segments=segments, texts=texts,
        image_size=ctx.train_size, amp=amp)
    return dict(measured_peak_bytes=measured, estimated_peak_bytes=estimate.peak,
                ratio=estimate.peak / measured, amp=amp, batch_size=ctx.batch_size,
                image_size=ctx.train_size, regions=regions, segments=segments)


def check_panoptic_step(ctx: BenchmarkContext) -> Dict:
    """One training step of the panoptic Mask2Former (ViT-B/16 recipe, or the synthetic tiny
    one for ``--model tiny``) on two synthetic images: loss finite, peak memory."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData, PixelData
    config = 'umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py' \
        if ctx.model == TINY_MODEL else PANOPTIC_MODEL
    cfg = ctx.config(config).model
    cfg['clip'].update(checkpoint=None)
    cfg['text_encoder'].update(templates='single')
    if ctx.model != TINY_MODEL:  # the tiny config has its own tiny towers
        cfg['clip'] = dict(model_cfg=with_image_size(clip_config(ctx.model), ctx.train_size))
    with DefaultScope.overwrite_default_scope('mmdet'):
        from mmdet.registry import MODELS as MMDET_MODELS
        model = MMDET_MODELS.build(ConfigDict(cfg)).to(ctx.torch_device).train()
    size, samples = ctx.train_size, []
    for i in range(2):
        masks = torch.zeros(2, size, size, dtype=torch.bool)
        masks[0, :size // 2, :size // 2] = masks[1, size // 2:, size // 4:] = True
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                                             batch_input_shape=(size, size)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[0., 0., size / 2, size / 2], [size / 4, size / 2, size, size]]),
            labels=torch.tensor([0, 1]), masks=BitmapMasks(masks.numpy(), size, size))
        sample.gt_sem_seg = PixelData(sem_seg=torch.full((1, size, size), 255))
        samples.append(sample.to(ctx.torch_device))
    inputs = torch.randn(2, 3, size, size, device=ctx.torch_device)
    wrapper = optim_wrapper(model, amp=ctx.amp and ctx.torch_device.type == 'cuda')
    losses = {}

    def step():
        with wrapper.optim_context(model):
            parsed, log = model.parse_losses(model(inputs, samples, mode='loss'))
        wrapper.update_params(parsed)
        losses.update(loss=float(log['loss']))

    peak = _peak(step, ctx.torch_device, model, wrapper.optimizer)
    return dict(config=config, loss=losses['loss'], finite=bool(torch.isfinite(
        torch.tensor(losses['loss']))), peak_bytes=peak)


def run_checks(ctx: BenchmarkContext) -> Dict:
    """Every check; a failing one is reported with its error, the others still run."""
    report = dict(device=ctx.device, machine=platform.node(), model=ctx.model,
                  gpu=torch.cuda.get_device_name(ctx.torch_device)
                  if ctx.torch_device.type == 'cuda' else None, checks={})
    checks = dict(roi_align=lambda: check_roi_align(ctx.torch_device),
                  deformable_attention=lambda: check_deformable_attention(ctx.torch_device),
                  pretrain_step=lambda: check_pretrain_step(ctx),
                  panoptic_step=lambda: check_panoptic_step(ctx))
    for name, check in checks.items():
        try:
            report['checks'][name] = dict(check(), status='ok')
        except Exception as error:  # reported, the other checks still run
            report['checks'][name] = dict(status='failed', error=repr(error))
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='gpu_check.sh: its Python checks')
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--model', default='ViT-B-16', help="open_clip name or 'tiny'")
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--no-amp', action='store_true')
    parser.add_argument('--out', required=True, help='the JSON report')
    args = parser.parse_args(argv)
    configs = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                       'configs')
    ctx = BenchmarkContext(model=args.model, device=args.device, sizes=[args.size],
                           batch_size=args.batch_size, repeats=1, warmup=0,
                           amp=not args.no_amp, configs_dir=configs,
                           threads=torch.get_num_threads())
    report = run_checks(ctx)
    write_json_atomic(args.out, report, indent=2)
    failed = [name for name, check in report['checks'].items()
              if check['status'] != 'ok' or check.get('ok') is False]
    print(json.dumps(report, indent=2))
    return 1 if failed else 0


if __name__ == '__main__':
    raise SystemExit(main())
