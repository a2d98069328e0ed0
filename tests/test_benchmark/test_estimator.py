"""The step estimator (fake tensors, no weights) against a measured CPU step of the same model."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from umg_mm.benchmark.context import BenchmarkContext
from umg_mm.benchmark.estimator import (GPU_BYTES, StepEstimate, adamw_with_state,
                                        estimate_pretrain_step, largest_batch)
from umg_mm.benchmark.sections.training import pretrainer_cfg
from umg_mm.benchmark.simulated_ranks import replay_rank, run_ranks
from umg_mm.benchmark.synthetic_batch import umg_batch
from umg_mm.benchmark.timing import tracked_peak_bytes
from umg_mm.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]

WORLD, BATCH, SIZE = 2, 4, 32
COUNTS = dict(regions=4, segments=4, texts=3)
#: the estimate's total against the measured peak of the tensors (torch's MemTracker)
TOLERANCE = 0.10


def _measured_step(model_cfg) -> dict:
    """Peak tensor memory of rank 0's real step (forward, backward, AdamW), the other rank
    simulated."""
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).train()
    optimizer = adamw_with_state([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    batches = [umg_batch(BATCH, SIZE, rank=r, **COUNTS) for r in range(WORLD)]

    def forward(rank):
        with torch.no_grad():
            return model(**batches[rank], mode='loss')

    _, record = run_ranks(forward, WORLD)

    def step():
        losses = model(**batches[0], mode='loss')
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        optimizer.step()

    return tracked_peak_bytes(lambda: replay_rank(step, record), model, optimizer)


def test_estimate_agrees_with_a_measured_cpu_step():
    init_default_scope('mmengine')
    ctx = BenchmarkContext(model='tiny', device='cpu', sizes=[SIZE], batch_size=BATCH,
                           repeats=1, warmup=0, amp=False, configs_dir=str(ROOT / 'configs'),
                           threads=1)
    model_cfg = pretrainer_cfg(ctx)
    cfg = Config(dict(model=model_cfg, train_dataloader=dict(batch_size=BATCH)))
    estimate = estimate_pretrain_step(cfg, world_size=WORLD, image_size=SIZE, **COUNTS)
    measured = _measured_step(model_cfg)
    # the same model: weights and gradients exactly, the step's peak within the tolerance
    assert estimate.weights == measured['weights'] > 0
    assert estimate.gradients == measured['gradients']
    assert abs(estimate.peak / measured['total'] - 1) <= TOLERANCE, (estimate, measured)
    assert estimate.trainable == estimate.parameters > 0
    assert estimate.flops_per_image > 0 and estimate.gathered_bytes > 0
    # every loss saw the rows of the batch: 4 images x 4 regions, 3 texts each
    assert estimate.loss_rows['region_text'][:2] == [BATCH * 4, BATCH * 4 * 3]
    assert estimate.fits(80) and estimate.fits(141)


def _estimate(batch_size: int, peak: int, **parts) -> StepEstimate:
    fields = dict(weights=0, gradients=0, optimizer=0, activations=0, losses=0, flops=1.,
                  gathered_bytes=0, batch_size=batch_size, trainable=1, parameters=1)
    fields.update(activations=peak, **parts)
    return StepEstimate(**fields)


def test_largest_batch_is_linear_through_two_estimates():
    gib = 2**30
    # 10 GiB fixed, 2 GiB per image: (budget / 1.1 - 10 GiB) / 2 GiB images
    small, large = _estimate(2, 14 * gib), _estimate(4, 18 * gib)
    expected = int((GPU_BYTES[80] / 1.1 - 10 * gib) // (2 * gib))
    assert largest_batch(small, large, 80) == expected == 30
    assert largest_batch(small, large, 141) > expected
    assert largest_batch(_estimate(1, 90 * gib), _estimate(2, 100 * gib), 80) == 0
    with pytest.raises(ValueError, match='two batch sizes'):
        largest_batch(large, small)


def test_fsdp_divides_the_sharded_parts_by_the_world():
    e = _estimate(8, 0, weights=8000, gradients=8000, optimizer=16000, block_bytes=100,
                  block_trainable_bytes=100)
    sharded = e.fsdp(8)
    assert (sharded.weights, sharded.gradients, sharded.optimizer) == (1200, 1100, 2000)
    assert sharded.activations == e.activations
    assert sharded.gathered_bytes == 2 * 8000 * 7 // 8
