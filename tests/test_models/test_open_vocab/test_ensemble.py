"""VocabEnsemble and masked_average_pool: pooling values, alpha/beta per seen class, void kept."""
import pytest
import torch
import torch.nn.functional as F

from umg_mm.models.open_vocab import VocabEnsemble, masked_average_pool


def test_masked_average_pool_averages_inside_masks():
    dense = torch.zeros(1, 2, 4, 4)
    dense[0, 0, :, :2] = 1.  # channel 0 on the left half
    dense[0, 1, :, 2:] = 3.  # channel 1 on the right half
    logits = torch.full((1, 2, 8, 8), -50.)
    logits[0, 0, :, :4] = 50.  # query 0: left half (at twice the resolution)
    logits[0, 1] = 50.  # query 1: everything
    pooled = masked_average_pool(dense, logits)
    assert pooled.shape == (1, 2, 2)
    assert torch.allclose(pooled[0, 0], torch.tensor([1., 0.]), atol=1e-4)
    assert torch.allclose(pooled[0, 1], torch.tensor([0.5, 1.5]), atol=1e-4)


def make_inputs(num_classes=3, dim=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    classes = F.normalize(torch.randn(num_classes, dim, generator=g), dim=-1)
    return (torch.randn(2, 5, num_classes + 1, generator=g), torch.randn(2, dim, 3, 3, generator=g),
            torch.randn(2, 5, 6, 6, generator=g), classes)


def test_alpha_beta_zero_returns_the_head_and_one_returns_clip_with_void_kept():
    cls_logits, dense, masks, classes = make_inputs()
    head_only = VocabEnsemble(alpha=0., beta=0.)
    head_only.set_vocabulary(['a', 'b', 'c'])
    out = head_only(cls_logits, dense, masks, classes)
    assert torch.allclose(out.softmax(-1), cls_logits.softmax(-1), atol=1e-5)
    clip_only = VocabEnsemble(alpha=1., beta=1.)
    clip_only.set_vocabulary(['a', 'b', 'c'])
    probs = clip_only(cls_logits, dense, masks, classes).exp()
    void = cls_logits.softmax(-1)[..., -1:]
    p_out = clip_only.out_vocab_probs(dense, masks, classes)
    assert torch.allclose(probs[..., -1:], void, atol=1e-5)
    assert torch.allclose(probs[..., :-1], p_out * (1 - void), atol=1e-5)
    assert torch.allclose(probs.sum(-1), torch.ones(2, 5), atol=1e-5)


def test_seen_classes_use_alpha_and_the_others_beta():
    cls_logits, dense, masks, classes = make_inputs()
    ens = VocabEnsemble(alpha=0., beta=1., seen_classes=['a', 'x'])
    assert ens.set_vocabulary(['a', 'b, bee', 'c']).tolist() == [True, False, False]
    # synonyms count: 'bee' seen makes class 'b, bee' seen
    assert VocabEnsemble(seen_classes=['bee']).set_vocabulary(['a', 'b, bee']).tolist() == \
        [False, True]
    probs = ens(cls_logits, dense, masks, classes).exp()[..., :-1]
    p_in = cls_logits.softmax(-1)[..., :-1]
    p_out = ens.out_vocab_probs(dense, masks, classes)
    geo = torch.stack([p_in[..., 0], p_out[..., 1], p_out[..., 2]], dim=-1)
    expected = geo / geo.sum(-1, keepdim=True) * (1 - cls_logits.softmax(-1)[..., -1:])
    assert torch.allclose(probs, expected, atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        VocabEnsemble(alpha=1.5)
    cls_logits, dense, masks, classes = make_inputs()
    ens = VocabEnsemble()
    with pytest.raises(RuntimeError, match='set_vocabulary'):
        ens(cls_logits, dense, masks, classes)
    ens.set_vocabulary(['a', 'b'])
    with pytest.raises(ValueError, match='expected 3'):
        ens(cls_logits[..., :3], dense, masks, classes)
