"""Throughput of an engine config: each stage's real model (random weights, built offline)
timed on the CPU and its FLOPs counted, and the GPU rate those FLOPs imply.

The GPU figures are estimates from FLOPs (peak dense bf16 TFLOPs x an assumed utilisation /
FLOPs per image), not measurements.
"""
import copy
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from torch.utils.flop_counter import FlopCounterMode

from . import models
from .offline import offline_options
from .registry import STAGES
from .sample import EngineSample
from .sources import ImageItem
from .stages.base import BaseStage, ModelStage

#: peak dense bf16 tensor TFLOPs of the named GPUs (vendor data sheets, no sparsity)
GPU_TFLOPS = {'A100': 312., 'H100': 989., 'H200': 989.}
#: the inferencers this module can build offline (:func:`~.offline.offline_options`)
MEASURABLE = (models.det_inferencer, models.caption_inferencer, models.umg_inferencer)


@dataclass
class StageThroughput:
    """One stage measured on ``images`` images.

    Attributes:
        name, stage, model: the stage's name, type and ``config@checkpoint``.
        input_size: the model's input batch ``(C, H, W)`` after its test pipeline ('' if none).
        flops_per_image: FlopCounterMode's count of one ``process`` call / images.
        cpu_seconds_per_image: median of the timed calls / images.
        regions_in: regions per image the stage received (region captioning scales with it).
    """
    name: str
    stage: str
    model: str
    input_size: str
    flops_per_image: float
    cpu_seconds_per_image: float
    regions_in: float

    def gpu_images_per_second(self, tflops: float, utilisation: float) -> float:
        """``tflops * 1e12 * utilisation / flops_per_image`` (the CPU rate for a stage with no
        FLOPs: it runs on the CPU anyway)."""
        if self.flops_per_image <= 0:
            return 1. / self.cpu_seconds_per_image
        return tflops * 1e12 * utilisation / self.flops_per_image


def pipeline_images_per_second(rates: Sequence[float]) -> float:
    """Images/s of stages run one after the other on one GPU: ``1 / sum(1 / rate)``."""
    return 1. / sum(1. / rate for rate in rates)


def offline_stage_cfg(stage_cfg: dict, folder: str) -> dict:
    """``stage_cfg`` with no checkpoint (random weights) and the overrides that build its model
    offline; raises ``ValueError`` for a model stage whose model it cannot build."""
    cfg = copy.deepcopy(stage_cfg)
    cls = STAGES.get(cfg['type'])
    if cls is None or not issubclass(cls, BaseStage):
        raise ValueError(f'stage {cfg["type"]!r}: not a registered data-engine stage')
    if not issubclass(cls, ModelStage):
        return cfg  # no model (LayoutCaption): timed as it is
    if cls.build_inferencer not in MEASURABLE:
        raise ValueError(
            f'stage {cfg["type"]!r}: cannot measure it: its model is built by '
            f'{getattr(cls.build_inferencer, "__name__", cls.build_inferencer)!r}, not by one '
            f'of {[f.__name__ for f in MEASURABLE]} (umg_mm.data_engine.models)')
    options = offline_options(cfg['config'], folder)
    cfg.update(checkpoint=None, cfg_options=dict(cfg.get('cfg_options') or {}, **options))
    return cfg


def random_samples(images: int, size: Tuple[int, int], seed: int = 0) -> List[EngineSample]:
    """``images`` random BGR images of ``size`` (H, W) as engine samples."""
    rng = np.random.default_rng(seed)
    return [EngineSample(ImageItem(f'img{i}', f'img{i}.jpg', ''),
                         rng.integers(0, 256, (*size, 3), dtype=np.uint8))
            for i in range(images)]


def _fill_dataset_meta(stage: BaseStage) -> None:
    """A model without a checkpoint has no dataset meta: take the config's test dataset's (the
    class names the released checkpoints carry)."""
    inferencer = getattr(stage, 'inferencer', None)
    if inferencer is None or not hasattr(inferencer, 'cfg'):
        return
    dataset = inferencer.cfg.get('test_dataloader', {}).get('dataset', {})
    meta = getattr(inferencer.model, 'dataset_meta', None) or {}
    if dataset.get('type') and not {'thing_classes', 'stuff_classes'} <= set(meta):
        from mmdet.registry import DATASETS
        dataset_cls = DATASETS.get(dataset['type'])
        if dataset_cls is not None and 'panoptic' in dataset['type'].lower():
            inferencer.model.dataset_meta = dict(dataset_cls.METAINFO,
                                                 **(dataset.get('metainfo') or {}))


def _input_recorder(stage: BaseStage):
    """A hook recording the ``(C, H, W)`` the model's data preprocessor outputs; ``None`` if the
    stage has no such model."""
    model = getattr(getattr(stage, 'inferencer', None), 'model', None)
    preprocessor = getattr(model, 'data_preprocessor', None)
    if preprocessor is None:
        return None, None
    seen = {}

    def hook(module, args, output):
        if isinstance(output, dict):  # mmdet / umg_mm: 'inputs'; mmpretrain multimodal: 'images'
            inputs = output['inputs'] if 'inputs' in output else output['images']
        else:
            inputs = output[0]
        first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        seen['size'] = 'x'.join(str(s) for s in first.shape[-3:])
    return preprocessor.register_forward_hook(hook), seen


def measure_stage(stage: BaseStage, samples: List[EngineSample], repeats: int = 3
                  ) -> Tuple[StageThroughput, List[EngineSample]]:
    """CPU seconds (median of ``repeats`` timed calls after a warm-up) and FLOPs (one more
    call, counted by FlopCounterMode) per image of ``stage.process`` on copies of ``samples``.
    Steady state: what a run computes once (a vocabulary's text classifier) is in neither.

    Returns:
        The measurement and the samples as the warm-up left them (the next stage's input).
    """
    handle, seen = _input_recorder(stage)
    warmed = copy.deepcopy(samples)
    stage.process(warmed)
    seconds = []
    for _ in range(repeats):
        batch = copy.deepcopy(samples)
        start = time.perf_counter()
        stage.process(batch)
        seconds.append(time.perf_counter() - start)
    flops = FlopCounterMode(display=False)
    batch = copy.deepcopy(samples)
    with flops:
        stage.process(batch)
    if handle is not None:
        handle.remove()
    n = len(samples)
    regions = sum(len(s.record['regions']) for s in samples) / n
    return StageThroughput(stage.name, type(stage).__name__, stage.model_name,
                           (seen or {}).get('size', ''), flops.get_total_flops() / n,
                           statistics.median(seconds) / n, regions), warmed


def keep_best_regions(samples: List[EngineSample], max_regions: int) -> None:
    """Keep each record's ``max_regions`` best-scored regions (a random detector's count is
    arbitrary; region captioning and filtering scale with it)."""
    for sample in samples:
        regions = sorted(sample.record['regions'],
                         key=lambda r: -(r.get('extra', {}).get('score') or 0.))
        sample.record['regions'] = regions[:max_regions]


def measure_engine(stage_cfgs: Sequence[dict], images: int = 2,
                   image_size: Tuple[int, int] = (480, 640), repeats: int = 3,
                   batch_size: Optional[int] = None, max_regions: Optional[int] = None
                   ) -> List[StageThroughput]:
    """Every stage of an engine config measured in order on ``images`` random images, each
    stage on what the stages before it wrote (at most ``max_regions`` regions per image, if
    given); ``batch_size`` (default ``images``) per call."""
    samples = random_samples(images, image_size)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cfgs = [offline_stage_cfg(cfg, f'{folder}/{i}') for i, cfg in enumerate(stage_cfgs)]
        for cfg in cfgs:
            stage = STAGES.build(dict(cfg, batch_size=batch_size or images))
            stage.setup('cpu')
            _fill_dataset_meta(stage)
            row, samples = measure_stage(stage, samples, repeats)
            if max_regions is not None:
                keep_best_regions(samples, max_regions)
            rows.append(row)
            print_log(f'measured {row}', logger='current')
    return rows


def throughput_table(rows: Sequence[StageThroughput], gpu: str, tflops: float,
                     utilisation: float, total_images: int, threads: int) -> str:
    """A markdown table of ``rows`` with the estimated GPU rates, the pipeline's images/s per
    GPU and GPU-hours for ``total_images``."""
    rates = [row.gpu_images_per_second(tflops, utilisation) for row in rows]
    lines = [f'| stage | model | input (C x H x W) | regions in / image | GFLOPs / image | '
             f'CPU s / image (measured, {threads} thread{"s" * (threads > 1)}) | '
             f'{gpu} images/s (estimated) |', '| --- ' * 7 + '|']
    for row, rate in zip(rows, rates):
        lines.append(f'| {row.name} ({row.stage}) | {row.model} | {row.input_size or "-"} | '
                     f'{row.regions_in:.1f} | {row.flops_per_image / 1e9:,.1f} | '
                     f'{row.cpu_seconds_per_image:.2f} | {rate:,.1f} |')
    pipeline = pipeline_images_per_second(rates)
    lines += ['', f'pipeline (stages in sequence): {pipeline:.2f} images/s per {gpu} = '
                  f'{total_images / pipeline / 3600:,.0f} GPU-hours for {total_images:,} images',
              '', f'GPU figures are ESTIMATES from FLOPs, not measured: {gpu} peak dense bf16 '
                  f'{tflops:g} TFLOPs x utilisation {utilisation:g} / FLOPs per image; the CPU '
                  f'column is measured (random weights, random images).']
    return '\n'.join(lines)


__all__ = ['GPU_TFLOPS', 'StageThroughput', 'pipeline_images_per_second', 'offline_stage_cfg',
           'random_samples', 'keep_best_regions', 'measure_stage', 'measure_engine', 'throughput_table']
