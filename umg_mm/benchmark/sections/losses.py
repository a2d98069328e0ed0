"""The contrastive losses at the real recipes' counts, 8 ranks simulated in this process.

The other ranks' rows come from :func:`~umg_mm.benchmark.simulated_ranks.run_ranks` (each rank
once, untimed); rank 0 is then timed and its memory tracked alone with
:func:`~umg_mm.benchmark.simulated_ranks.replay_rank`. Time: forward and backward of rank 0;
memory: the peak of the tensors rank 0 allocates (torch's ``MemTracker``).
"""
import random
from typing import Callable, Dict, List

import torch

from umg_mm.models.losses import MultiPositiveContrastiveLoss, string_ids
from ..context import BenchmarkContext
from ..result import Ratio, SectionResult
from ..simulated_ranks import replay_rank, run_ranks
from ..synthetic_batch import NUM_TAGS, umg_batch
from ..timing import interleaved_medians, tracked_peak_bytes
from .training import build_pretrainer, optim_wrapper

WORLD_SIZE = 8
#: the issue's figure: 128 images per rank, 10 regions each, 3 texts per region
IMAGES, REGIONS, TEXTS = 128, 10, 3
#: UMG-41M-like counts per image for the realistic step
STEP_REGIONS, STEP_SEGMENTS = 32, 64
MIB = 2**20


def loss_inputs(rank: int, visuals: int, texts_per_visual: int, dim: int,
                seed: int = 0) -> dict:
    """One rank's inputs of a ``MultiPositiveContrastiveLoss``: each visual with a distinct
    caption and ``texts_per_visual - 1`` tags of an LVIS-sized vocabulary."""
    rng = random.Random(seed * 7919 + rank)
    strings, pairs = [], []
    for v in range(visuals):
        texts = [f'caption {rank}-{v}'] + [f'tag {rng.randrange(NUM_TAGS)}'
                                           for _ in range(texts_per_visual - 1)]
        pairs += [[v, len(strings) + t] for t in range(len(texts))]
        strings += texts
    generator = torch.Generator().manual_seed(seed + rank)
    return dict(visual=torch.randn(visuals, dim, generator=generator),
                texts=torch.randn(len(strings), dim, generator=generator),
                text_ids=string_ids(strings), pairs=torch.tensor(pairs))


def _forward_backward(loss_fn: Callable, inputs: dict) -> Callable[[], None]:
    def run():
        local = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in inputs.items()}
        loss_fn(**local).backward()
    return run


def run_contrastive_loss(ctx: BenchmarkContext) -> SectionResult:
    """Region-text loss (128 images x 10 regions x 3 texts per rank) vs image-text loss (128
    images x 1 caption) at 8 simulated ranks: time and peak memory of rank 0."""
    dim = ctx.clip_cfg['embed_dim']
    cases = {'region_text': (IMAGES * REGIONS, TEXTS), 'image_text': (IMAGES, 1)}
    figures: Dict[str, Dict[str, float]] = {}
    for name, (visuals, texts) in cases.items():
        loss_fn = MultiPositiveContrastiveLoss().to(ctx.torch_device)
        ranks = [loss_inputs(r, visuals, texts, dim) for r in range(WORLD_SIZE)]
        ranks = [{k: v.to(ctx.torch_device) for k, v in inputs.items()} for inputs in ranks]
        _, record = run_ranks(lambda r: _forward_backward(loss_fn, ranks[r])(), WORLD_SIZE)
        step = _forward_backward(loss_fn, ranks[0])
        figures[name] = dict(
            fn=lambda step=step, record=record: replay_rank(step, record),
            peak=tracked_peak_bytes(lambda: replay_rank(step, record))['total'],
            columns=len(torch.cat([r['text_ids'] for r in ranks]).unique()))
    (region_s, image_s), _ = interleaved_medians(
        ctx.clock, [figures['region_text']['fn'], figures['image_text']['fn']], ctx.repeats,
        ctx.warmup)
    result = SectionResult()
    what = (f'{WORLD_SIZE} simulated ranks, rank 0: region-text loss ({IMAGES} images x '
            f'{REGIONS} regions x {TEXTS} texts) vs image-text loss ({IMAGES} images)')
    result.ratios['time'] = Ratio(f'loss forward + backward, {what}', region_s, image_s, 's')
    result.ratios['peak_memory'] = Ratio(
        f'loss peak tensor memory, {what}', figures['region_text']['peak'] / MIB,
        figures['image_text']['peak'] / MIB, 'MiB')
    result.measurements.update(
        world_size=WORLD_SIZE, embed_dim=dim,
        region_text_rows_per_rank=IMAGES * REGIONS,
        region_text_texts_per_rank=IMAGES * REGIONS * TEXTS,
        region_text_distinct_strings=figures['region_text']['columns'],
        memory_method='torch MemTracker: tensors allocated by rank 0 in forward and backward')
    return result


def _forward_no_grad(model, batches: List[dict]) -> Callable[[int], object]:
    """``fn(rank)``: the loss-mode forward of that rank's batch without a graph (grad mode is
    per thread: set inside)."""
    def forward(rank):
        with torch.no_grad():
            return model(**batches[rank], mode='loss')
    return forward


def run_realistic_step(ctx: BenchmarkContext) -> SectionResult:
    """A pretraining step at UMG-41M counts (32 regions and 64 segments per image, 3 texts
    each) at 8 simulated ranks vs the image-text-only step: step time, the losses' share of it
    and their peak memory (rank 0)."""
    full = build_pretrainer(ctx, 'all')
    batches = [umg_batch(ctx.batch_size, ctx.train_size, STEP_REGIONS, STEP_SEGMENTS, TEXTS,
                         rank=r, device=ctx.torch_device) for r in range(WORLD_SIZE)]
    captured: List[tuple] = []

    def capture(module, args):
        captured.append((module, [a.detach().requires_grad_(a.is_floating_point())
                                  for a in args]))

    _, record = run_ranks(_forward_no_grad(full, batches), WORLD_SIZE)  # the others' rows
    hooks = [loss.register_forward_pre_hook(capture) for loss in full.losses.values()]
    replay_rank(lambda: full(**batches[0], mode='loss'), record)  # rank 0's loss inputs
    for hook in hooks:
        hook.remove()
    losses_of_rank0 = list(captured)

    def losses_only():
        total = sum(module(*[a.clone() if a.is_floating_point() else a for a in args])
                    for module, args in losses_of_rank0)
        total.backward()

    wrapper = optim_wrapper(full)

    def step():
        with wrapper.optim_context(full):
            parsed, _ = full.parse_losses(full(**batches[0], mode='loss'))
        wrapper.update_params(parsed)

    image_text = build_pretrainer(ctx, 'image_text')
    image_text.backbone, image_text.text_encoder = full.backbone, full.text_encoder
    _, record_it = run_ranks(_forward_no_grad(image_text, batches), WORLD_SIZE)
    wrapper_it = optim_wrapper(image_text)

    def step_it():
        with wrapper_it.optim_context(image_text):
            parsed, _ = image_text.parse_losses(image_text(**batches[0], mode='loss'))
        wrapper_it.update_params(parsed)

    (full_s, it_s, losses_s), _ = interleaved_medians(
        ctx.clock, [lambda: replay_rank(step, record), lambda: replay_rank(step_it, record_it),
                    lambda: replay_rank(losses_only, record)], ctx.repeats, ctx.warmup)
    loss_peak = tracked_peak_bytes(lambda: replay_rank(losses_only, record))['total']
    step_peak = tracked_peak_bytes(lambda: replay_rank(step, record), full,
                                   wrapper.optimizer)
    step_it_peak = tracked_peak_bytes(lambda: replay_rank(step_it, record_it), image_text,
                                      wrapper_it.optimizer)
    result = SectionResult()
    counts = (f'{STEP_REGIONS} regions + {STEP_SEGMENTS} segments per image, {TEXTS} texts '
              f'each, {WORLD_SIZE} simulated ranks')
    result.ratios['step_time'] = Ratio(
        f'pretraining step, all losses vs image-text only, {counts}', full_s, it_s, 's')
    result.ratios['losses_share'] = Ratio(
        'the contrastive losses (forward + backward) vs the whole step, all losses', losses_s,
        full_s, 's')
    result.ratios['step_peak_memory'] = Ratio(
        f'peak tensor memory of the step, all losses vs image-text only, {counts}',
        step_peak['total'] / MIB, step_it_peak['total'] / MIB, 'MiB')
    result.ratios['losses_peak_memory'] = Ratio(
        'peak tensor memory of the losses vs of the step, all losses', loss_peak / MIB,
        step_peak['total'] / MIB, 'MiB')
    result.measurements.update(
        batch_size=ctx.batch_size, image_size=ctx.train_size, world_size=WORLD_SIZE,
        rows_per_loss={name: int(args[0].shape[0]) for module, args in losses_of_rank0
                       for name, loss in full.losses.items() if loss is module},
        memory_method='torch MemTracker: tensors of rank 0 (weights, gradients, optimizer '
                      'states and activations for the steps)')
    return result
