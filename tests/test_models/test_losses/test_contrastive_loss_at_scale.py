"""MultiPositiveContrastiveLoss at 8 simulated ranks: equal to one process, equal to the former
dense formula without repeated strings, and never a global x global tensor."""
import random

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from umg_mm.benchmark.simulated_ranks import replay_rank, run_ranks
from umg_mm.models.losses import MultiPositiveContrastiveLoss, distributed, string_ids
from umg_mm.models.losses.multi_positive_contrastive_loss import _multi_positive_nll

WORLD = 8


def _former_formula(loss_fn, visual, texts, text_ids, pairs):
    """The loss before issue 18 (kept here only, as the reference): a dense
    ``(W * max_v, W * max_t)`` matrix of global positive pairs, every text its own column."""
    rank, world_size = distributed.get_dist_info()
    device = visual.device
    num_v, num_t = visual.shape[0], texts.shape[0]
    counts = distributed.gather_counts(num_v, num_t, pairs.shape[0], device=device)
    total_v, total_t = int(counts[:, 0].sum()), int(counts[:, 1].sum())
    scale = loss_fn.logit_scale()
    max_v, max_t, max_k = (int(c) for c in counts.max(dim=0).values)
    visual = torch.nn.functional.normalize(visual.float(), dim=-1)
    texts = torch.nn.functional.normalize(texts.float(), dim=-1)
    all_v, all_t = distributed.gather_with_grad(distributed.pad_rows(visual, max_v),
                                                distributed.pad_rows(texts, max_t))
    all_ids = distributed.gather_no_grad(distributed.pad_rows(text_ids, max_t))
    t_valid = distributed.valid_mask(counts[:, 1].tolist(), max_t, device)
    v_valid = distributed.valid_mask(counts[:, 0].tolist(), max_v, device)
    owner = torch.zeros(num_v, num_t)
    owner[pairs[:, 0], pairs[:, 1]] = 1
    same = ((text_ids[:, None] == all_ids[None, :]) & t_valid[None]).float()
    logits = (scale * visual @ all_t.T).masked_fill(~t_valid[None], float('-inf'))
    loss = _multi_positive_nll(logits, (owner @ same) > 0).sum() * world_size / total_v
    offset = torch.tensor([rank * max_v, rank * max_t])
    all_pairs = distributed.gather_no_grad(distributed.pad_rows(pairs + offset, max_k, value=-1))
    all_pairs = all_pairs[all_pairs[:, 0] >= 0]
    global_owner = torch.zeros(world_size * max_v, world_size * max_t)
    global_owner[all_pairs[:, 0], all_pairs[:, 1]] = 1
    logits = (scale * texts @ all_v.T).masked_fill(~v_valid[None], float('-inf'))
    loss_t2v = _multi_positive_nll(logits, (same @ global_owner.T) > 0).sum()
    return loss_fn.loss_weight * (loss + loss_t2v * world_size / total_t) / 2


def _rank_batches(vocabulary, seed=0, dim=8):
    """Per rank: 3-7 visuals with 1-3 tags each, drawn from ``vocabulary`` (a tower gives equal
    strings equal embeddings: so do these batches)."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    embedding = {name: torch.randn(dim) for name in vocabulary}
    batches = []
    for _ in range(WORLD):
        tags = [rng.sample(vocabulary, rng.randint(1, min(3, len(vocabulary))))
                for _ in range(rng.randint(3, 7))]
        strings = [t for ts in tags for t in ts]
        pairs = torch.tensor([[v, 0] for v, ts in enumerate(tags) for _ in ts])
        pairs[:, 1] = torch.arange(len(strings))
        batches.append(dict(visual=torch.randn(len(tags), dim),
                            texts=torch.stack([embedding[s] for s in strings]),
                            text_ids=string_ids(strings), pairs=pairs))
    return batches


def _one_process(batches):
    """The whole global batch on one process, pairs renumbered."""
    pairs, num_v, num_t = [], 0, 0
    for b in batches:
        pairs.append(b['pairs'] + torch.tensor([num_v, num_t]))
        num_v, num_t = num_v + len(b['visual']), num_t + len(b['texts'])
    return {key: torch.cat([b[key] for b in batches]) for key in batches[0]} | \
        dict(pairs=torch.cat(pairs))


@pytest.mark.parametrize('symmetric', [True, False])
def test_eight_simulated_ranks_equal_one_process_with_repeats(symmetric):
    batches = _rank_batches([f'tag {i}' for i in range(6)])  # strings repeat within and across
    loss_fn = MultiPositiveContrastiveLoss(temperature=0.5, symmetric=symmetric)
    losses, _ = run_ranks(lambda rank: loss_fn(**batches[rank]), WORLD)
    single = loss_fn(**_one_process(batches))
    assert torch.allclose(torch.stack(losses).mean(), single, atol=1e-5)


def test_equal_to_the_former_dense_formula_without_repeats():
    batches = _rank_batches([f'caption {i}' for i in range(200)])
    offset = 0
    for b in batches:  # every text its own string in the global batch
        b['text_ids'] = torch.arange(offset, offset + len(b['text_ids']))
        offset += len(b['text_ids'])
    loss_fn = MultiPositiveContrastiveLoss(temperature=0.07)
    ours, _ = run_ranks(lambda rank: loss_fn(**batches[rank]), WORLD)
    former, _ = run_ranks(lambda rank: _former_formula(loss_fn, **batches[rank]), WORLD)
    assert torch.allclose(torch.stack(ours), torch.stack(former), atol=1e-5)
    single = _one_process(batches)
    assert torch.allclose(loss_fn(**single), _former_formula(loss_fn, **single), atol=1e-5)


class _AllocatedShapes(TorchDispatchMode):
    """Records the shape of every tensor an operator returns."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.shapes += [(str(func), tuple(t.shape)) for t in tree_leaves(out)
                        if isinstance(t, torch.Tensor)]
        return out


def _largest_allocation(formula, batches):
    """Rank 0's largest tensor (elements) in forward and backward, the others simulated."""
    _, record = run_ranks(lambda rank: formula(**batches[rank]), WORLD)
    local = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in batches[0].items()}
    with _AllocatedShapes() as mode:
        replay_rank(lambda: formula(**local), record).backward()
    return max(mode.shapes, key=lambda s: torch.Size(s[1]).numel())


def test_no_global_by_global_tensor():
    """Global rows x global columns would be ``(W max_v) x (W max_t)`` elements; local rows x
    global columns are a ``W``-th of that; the embedding dim (8) is smaller than the local row
    counts, so any allocation of half the global product or more is global x global."""
    batches = _rank_batches([f'tag {i}' for i in range(60)], seed=1)
    max_v = max(len(b['visual']) for b in batches)
    max_t = max(len(b['texts']) for b in batches)
    global_product = WORLD * max_v * WORLD * max_t
    loss_fn = MultiPositiveContrastiveLoss()
    op, shape = _largest_allocation(loss_fn, batches)
    assert torch.Size(shape).numel() < global_product / 2, (op, shape, global_product)
    # the check can fail: the former formula's dense matrix of global pairs trips it
    op, shape = _largest_allocation(lambda **b: _former_formula(loss_fn, **b), batches)
    assert torch.Size(shape).numel() >= global_product, (op, shape, global_product)
