"""MultiPositiveContrastiveLoss: hand computations, open_clip equality, gradients, 2 ranks."""
import math
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from open_clip.loss import ClipLoss

from umg_mm.models.losses import MultiPositiveContrastiveLoss, string_ids


def _diag(n):
    return torch.stack([torch.arange(n), torch.arange(n)], dim=1)


def test_equals_open_clip_clip_loss_with_distinct_captions():
    torch.manual_seed(0)
    image, text = torch.randn(5, 8), torch.randn(5, 8)
    ids = string_ids([f'caption {i}' for i in range(5)])
    ours = MultiPositiveContrastiveLoss(temperature=0.1, learnable_temperature=False)
    expected = ClipLoss()(F.normalize(image, dim=-1), F.normalize(text, dim=-1), 10.)
    assert torch.allclose(ours(image, text, ids, _diag(5)), expected, atol=1e-6)


def test_multi_tag_positives_hand_computed():
    # visual 0 is tagged sky and grass, visual 1 sky; the two 'sky' texts are one string: one
    # column (v2t) and one row (t2v)
    visual = torch.tensor([[1., 0.], [0., 1.]])
    texts = torch.tensor([[1., 0.], [0., 1.], [1., 0.]])
    ids = string_ids(['sky', 'grass', 'sky'])
    pairs = torch.tensor([[0, 0], [0, 1], [1, 2]])
    loss = MultiPositiveContrastiveLoss(loss_weight=2., temperature=1.,
                                        learnable_temperature=False)
    e = math.e
    # columns (sky, grass); visual 0: sims (1, 0), both positive; visual 1: (0, 1), sky only
    v2t = ((math.log(e + 1) - 1 / 2) + math.log(1 + e)) / 2
    # sky: sims (1, 0) to (v0, v1), both own 'sky'; grass: sims (0, 1), only v0
    t2v = ((math.log(1 + e) - 1 / 2) + math.log(1 + e)) / 2
    assert loss(visual, texts, ids, pairs).item() == pytest.approx(2 * (v2t + t2v) / 2, abs=1e-6)
    one_way = MultiPositiveContrastiveLoss(temperature=1., learnable_temperature=False,
                                           symmetric=False)
    assert one_way(visual, texts, ids, pairs).item() == pytest.approx(v2t, abs=1e-6)


def test_a_string_repeated_is_one_column_with_the_mean_of_its_copies():
    # 'sky' three times (one per visual) weighs as one column and one row, whatever its count
    visual = torch.tensor([[1., 0.], [0.6, 0.8], [0., 1.], [0.8, -0.6]])
    tags = ['sky', 'sky', 'sky', 'sea']
    texts = torch.tensor([[1., 0.], [1., 0.], [1., 0.], [0., 1.]])
    loss = MultiPositiveContrastiveLoss(temperature=1., learnable_temperature=False)
    repeated = loss(visual, texts, string_ids(tags), _diag(4))
    sims = visual @ torch.tensor([[1., 0.], [0., 1.]]).T  # (4 visuals, columns sky, sea)
    v2t = -sims.log_softmax(dim=1)[torch.arange(4), torch.tensor([0, 0, 0, 1])].mean()
    sky_row = sims[:, 0].log_softmax(dim=0)
    t2v = (-sky_row[:3].mean() - sims[:, 1].log_softmax(dim=0)[3]) / 2
    assert repeated.item() == pytest.approx(((v2t + t2v) / 2).item(), abs=1e-6)
    # copies with different embeddings: the column is their normalised mean
    texts[1] = torch.tensor([0., 1.])
    mixed = loss(visual, texts, string_ids(tags), _diag(4))
    column = F.normalize(texts[:3].sum(dim=0), dim=0)
    sims = visual @ torch.stack([column, texts[3]]).T
    v2t = -sims.log_softmax(dim=1)[torch.arange(4), torch.tensor([0, 0, 0, 1])].mean()
    t2v = (-sims[:, 0].log_softmax(dim=0)[:3].mean() - sims[:, 1].log_softmax(dim=0)[3]) / 2
    assert mixed.item() == pytest.approx(((v2t + t2v) / 2).item(), abs=1e-6)


def test_no_rows_gives_zero_with_a_graph():
    visual = torch.zeros(0, 4, requires_grad=True)
    texts = torch.zeros(0, 4, requires_grad=True)
    loss_fn = MultiPositiveContrastiveLoss()
    loss = loss_fn(visual, texts, string_ids([]), torch.zeros(0, 2, dtype=torch.long))
    assert loss.item() == 0
    loss.backward()
    assert loss_fn.log_logit_scale.grad.item() == 0


def test_learnable_and_fixed_temperature():
    torch.manual_seed(0)
    image = torch.randn(3, 4, requires_grad=True)
    text = torch.randn(3, 4, requires_grad=True)
    learnable = MultiPositiveContrastiveLoss(temperature=0.07)
    assert learnable.logit_scale().item() == pytest.approx(1 / 0.07)
    learnable(image, text, string_ids(['a', 'b', 'c']), _diag(3)).backward()
    assert learnable.log_logit_scale.grad.abs().item() > 0
    assert image.grad.abs().sum() > 0 and text.grad.abs().sum() > 0
    fixed = MultiPositiveContrastiveLoss(temperature=0.07, learnable_temperature=False)
    assert list(fixed.parameters()) == [] and 'log_logit_scale' in fixed.state_dict()
    capped = MultiPositiveContrastiveLoss(temperature=0.001, max_logit_scale=100.)
    assert capped.logit_scale().item() == pytest.approx(100.)


@pytest.mark.parametrize('learnable', [True, False])
def test_shared_logit_scale_is_read_from_its_owner_and_stored_there(learnable):
    owner = torch.nn.Module()
    owner.logit_scale = torch.nn.Parameter(torch.tensor(math.log(50.)), requires_grad=False)
    loss_fn = MultiPositiveContrastiveLoss(learnable_temperature=learnable)
    loss_fn.share_logit_scale(owner)
    assert loss_fn.state_dict() == {} and list(loss_fn.parameters()) == []
    assert owner.logit_scale.requires_grad == learnable
    assert loss_fn.logit_scale().item() == pytest.approx(50.)
    loss_fn.set_logit_scale(20.)
    assert owner.logit_scale.exp().item() == pytest.approx(20.)
    torch.manual_seed(0)
    image, text = torch.randn(3, 4), torch.randn(3, 4)
    loss = loss_fn(image, text, string_ids(['a', 'b', 'c']), _diag(3))
    expected = MultiPositiveContrastiveLoss(temperature=1 / 20.)(
        image, text, string_ids(['a', 'b', 'c']), _diag(3))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    if learnable:
        loss.backward()
        assert owner.logit_scale.grad.abs().item() > 0
    owner.logit_scale = torch.nn.Parameter(torch.tensor(math.log(5.)))  # replaced (FSDP)
    assert loss_fn.logit_scale().item() == pytest.approx(5.)
    with pytest.raises(TypeError, match='not a log-scale'):
        MultiPositiveContrastiveLoss().share_logit_scale(owner, 'missing')


def test_rows_without_pairs_are_an_error():
    loss = MultiPositiveContrastiveLoss()
    with pytest.raises(ValueError, match=r'visuals \[1\]'):
        loss(torch.randn(2, 4), torch.randn(1, 4), string_ids(['a']), torch.tensor([[0, 0]]))
    with pytest.raises(ValueError, match='temperature'):
        MultiPositiveContrastiveLoss(temperature=0.)


# ---------------------------------------------------------------- two ranks vs one
def _global_batch():
    """6 visuals (think: masks) and their tags, with repeated strings and a multi-tag visual."""
    torch.manual_seed(1)
    tags = [['sky'], ['sky', 'grass'], ['star'], ['grass'], ['star', 'sky'], ['ring']]
    visual = torch.randn(len(tags), 8)
    strings = [t for ts in tags for t in ts]
    texts = torch.randn(len(strings), 8)
    owners = [v for v, ts in enumerate(tags) for _ in ts]
    return visual, texts, strings, owners


def _run(visual, texts, strings, owners, rows, symmetric):
    """Loss and gradients of the visuals ``rows`` (and their texts) on this process."""
    keep = [i for i, o in enumerate(owners) if o in rows]
    # a rank without rows passes tensors that need no gradient (as the pretrainer does)
    local_v = visual[rows].clone().requires_grad_(bool(rows))
    local_t = texts[keep].clone().requires_grad_(bool(rows))
    pairs = torch.tensor([[rows.index(owners[i]), j] for j, i in enumerate(keep)],
                         dtype=torch.long).reshape(-1, 2)
    loss_fn = MultiPositiveContrastiveLoss(temperature=0.5, symmetric=symmetric)
    loss = loss_fn(local_v, local_t, string_ids([strings[i] for i in keep]), pairs)
    loss.backward()
    return dict(loss=loss.detach(), visual_grad=local_v.grad, text_grad=local_t.grad,
                scale_grad=loss_fn.log_logit_scale.grad, keep=keep)


SPLITS = {'even': ([0, 1, 2], [3, 4, 5]), 'rank1-empty': ([0, 1, 2, 3, 4, 5], []),
          'uneven': ([4], [0, 1, 2, 3, 5])}


def _worker(rank, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=2)
    try:
        for name, splits in SPLITS.items():
            for symmetric in (True, False):
                result = _run(*_global_batch(), rows=splits[rank], symmetric=symmetric)
                torch.save(result, os.path.join(out_dir, f'{name}-{symmetric}-rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def two_rank_results(tmp_path_factory):
    """Every case run once in one pair of gloo processes (spawning is the slow part)."""
    out = tmp_path_factory.mktemp('two_ranks')
    mp.spawn(_worker, args=(str(out / 'init'), str(out)), nprocs=2, join=True)
    return out


@pytest.mark.parametrize('name', list(SPLITS))
@pytest.mark.parametrize('symmetric', [True, False])
def test_two_ranks_equal_one_rank(two_rank_results, name, symmetric):
    splits = SPLITS[name]
    visual, texts, strings, owners = _global_batch()
    single = _run(visual, texts, strings, owners, list(range(len(visual))), symmetric)
    ranks = [torch.load(two_rank_results / f'{name}-{symmetric}-rank{r}.pt') for r in range(2)]
    # DDP averages gradients over ranks: the mean of the rank losses is the optimised loss
    mean_loss = (ranks[0]['loss'] + ranks[1]['loss']) / 2
    assert torch.allclose(mean_loss, single['loss'], atol=1e-5)
    assert torch.allclose((ranks[0]['scale_grad'] + ranks[1]['scale_grad']) / 2,
                          single['scale_grad'], atol=1e-5)
    for rank, rows in enumerate(splits):
        if not rows:
            continue
        # the gathered copies send their gradient home: a rank's inputs get the gradient of
        # the sum of all ranks' losses, i.e. world_size x the gradient of the mean
        assert torch.allclose(ranks[rank]['visual_grad'] / 2, single['visual_grad'][rows],
                              atol=1e-5)
        assert torch.allclose(ranks[rank]['text_grad'] / 2,
                              single['text_grad'][ranks[rank]['keep']], atol=1e-5)
