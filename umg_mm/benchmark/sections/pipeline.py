"""Data pipeline samples/s: the multi-granularity pretraining pipeline vs mmdet's stock panoptic
pipeline, on the same synthetic images (UMG JSON and COCO-panoptic forms of one world)."""
import os.path as osp
from copy import deepcopy

import mmdet
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmengine.config import Config
from mmengine.registry import DefaultScope

from umg_mm.datasets.synthetic import STUFF_CLASSES, THING_CLASSES
from umg_mm.registry import DATASETS
from ..context import BenchmarkContext
from ..result import Ratio, SectionResult
from ..timing import interleaved_medians

UMG_PIPELINE = '_base_/datasets/umg_pretrain_shards.py'
MMDET_PIPELINE = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_', 'datasets',
                          'coco_panoptic.py')


def _at_scale(pipeline: list, size: int) -> list:
    """``pipeline`` with every resize scale and crop size set to ``(size, size)``."""
    pipeline = deepcopy(pipeline)
    for transform in pipeline:
        for key in ('scale', 'crop_size'):
            if key in transform:
                transform[key] = (size, size)
    return pipeline


def run(ctx: BenchmarkContext) -> SectionResult:
    """Samples/s of ``dataset[i]`` over the world's train images, each pipeline as its config
    writes it (UMG: load image, boxes, masks, captions, tags; flip with left/right swap in the
    captions; random resize; crop; pack. mmdet: load image and panoptic PNG; resize; flip; pack),
    both with their scale set to the pretraining resolution."""
    size = ctx.train_size
    world = ctx.world()
    with DefaultScope.overwrite_default_scope('mmengine'):
        umg = DATASETS.build(dict(
            type='UMGDataset', data_root=world, ann_file='umg/train.jsonl',
            data_prefix=dict(img='images/train'),
            pipeline=_at_scale(ctx.config(UMG_PIPELINE).train_pipeline, size)))
    with DefaultScope.overwrite_default_scope('mmdet'):
        panoptic = MMDET_DATASETS.build(dict(
            type='CocoPanopticDataset', data_root=world,
            ann_file='annotations/panoptic_train.json',
            data_prefix=dict(img='images/train/', seg='annotations/panoptic_train/'),
            metainfo=dict(classes=tuple(THING_CLASSES) + tuple(STUFF_CLASSES),
                          thing_classes=tuple(THING_CLASSES), stuff_classes=tuple(STUFF_CLASSES)),
            pipeline=_at_scale(Config.fromfile(MMDET_PIPELINE).train_pipeline, size)))
    count = len(umg)
    if len(panoptic) != count:
        raise RuntimeError(f'the two forms of the world hold {count} and {len(panoptic)} images')
    (umg_s, mmdet_s), _ = interleaved_medians(
        ctx.clock, [lambda: [umg[i] for i in range(count)],
                    lambda: [panoptic[i] for i in range(count)]], ctx.repeats, ctx.warmup)
    result = SectionResult()
    result.ratios['umg_vs_mmdet_panoptic'] = Ratio(
        'data pipeline samples/s, multi-granularity (UMG) vs mmdet stock panoptic',
        count / umg_s, count / mmdet_s, 'samples/s')
    result.measurements.update(images=count, image_size=size)
    result.notes.append(f'{UMG_PIPELINE} train_pipeline vs mmdet '
                        f'configs/_base_/datasets/coco_panoptic.py train_pipeline, one process')
    return result
