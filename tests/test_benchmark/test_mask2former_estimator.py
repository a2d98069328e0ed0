"""The Mask2Former step estimator (fake tensors, fixed matching) against a measured CPU step of
the tiny semantic model, and its synthetic ground truth."""
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from umg_mm.benchmark.estimator import adamw_with_state
from umg_mm.benchmark.mask2former_estimator import (crop_size, estimate_mask2former_step,
                                                    mask2former_model_cfg, panoptic_batch,
                                                    semantic_batch)
from umg_mm.benchmark.timing import tracked_peak_bytes
from umg_mm.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / 'configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py'
CLASSES = ['sky', 'grass', 'road', 'tree', 'car', 'person']
BATCH, SEGMENTS = 2, 4
#: the estimate's total against the measured peak of the tensors (torch's MemTracker); the
#: fixed matching skips the Hungarian cost matrices (Q x segments, transient)
TOLERANCE = 0.10


def _tiny_cfg() -> Config:
    cfg = Config.fromfile(str(TINY))
    cfg.model.train_vocabulary = CLASSES  # no synthetic data set needed
    cfg.model.ensemble.seen_classes = CLASSES
    cfg.model.pop('fallback', None)
    cfg.train_dataloader.batch_size = BATCH
    return cfg


def _measured_step(cfg) -> dict:
    """Peak tensor memory of the real step (Hungarian matching and all), text embeddings
    cached and AdamW states made before, as the estimator's."""
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(mask2former_model_cfg(cfg)).train()
    model.decode_head.set_vocabulary(model.train_vocabulary)
    with torch.no_grad():
        model.decode_head.cls_embed.class_embeddings()
    optimizer = adamw_with_state([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    batch = semantic_batch(BATCH, crop_size(cfg), SEGMENTS, len(CLASSES))

    def step():
        losses = model(**batch, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optimizer.step()

    return tracked_peak_bytes(step, model, optimizer)


def test_estimate_agrees_with_a_measured_cpu_step():
    cfg = _tiny_cfg()
    estimate = estimate_mask2former_step(cfg, segments=SEGMENTS)
    measured = _measured_step(cfg)
    assert estimate.weights == measured['weights'] > 0
    assert estimate.optimizer == measured['optimizer'] > 0
    assert abs(estimate.peak / measured['total'] - 1) <= TOLERANCE, (estimate, measured)
    assert 0 < estimate.trainable < estimate.parameters  # frozen towers
    assert estimate.flops_per_image > 0 and estimate.gathered_bytes == 0
    assert estimate.batch_size == BATCH and crop_size(cfg) == 64


def test_synthetic_ground_truth_has_the_asked_segments():
    batch = semantic_batch(2, 32, 5, 171)
    for sample in batch['data_samples']:
        assert sample.gt_sem_seg.data.shape == (1, 32, 32)
        assert len(sample.gt_sem_seg.data.unique()) == 5
    batch = panoptic_batch(1, 32, 6, num_things=80, num_stuff=53)
    sample = batch['data_samples'][0]
    assert len(sample.gt_instances.labels) == 3 and sample.gt_instances.masks.masks.shape == \
        (3, 32, 32)
    stuff = sample.gt_sem_seg.sem_seg.unique()
    assert ((stuff >= 80) & (stuff < 133)).sum() == 3 and 255 in stuff
