"""Candidate classes: every class that wins a pixel of the upsampled (and resized) score maps is
a candidate, and peaked scores leave few."""
import pytest
import torch
import torch.nn.functional as F

from umg_mm.models.open_vocab import map_candidates, mixture_candidates


def _winners(scores_low, size, resized):
    """Classes that win a pixel: maps upsampled to ``size`` then resized to ``resized`` (as the
    head and mmseg's post-processing do)."""
    up = F.interpolate(scores_low, size=size, mode='bilinear', align_corners=False)
    up = F.interpolate(up, size=resized, mode='bilinear', align_corners=False)
    return set(up.argmax(dim=1).unique().tolist())


@pytest.mark.parametrize('seed', range(4))
def test_mixture_winners_are_candidates(seed):
    torch.manual_seed(seed)
    batch, queries, classes = 2, 6, 60
    # peaked class probabilities, smooth mask logits (upsampled decoder features in Mask2Former)
    class_probs = (torch.randn(batch, queries, classes + 1) * 6).softmax(dim=-1)[..., :-1]
    mask_logits = F.interpolate(torch.randn(batch, queries, 3, 3) * 4, size=(6, 7),
                                mode='bilinear', align_corners=False)
    keep = mixture_candidates(class_probs, mask_logits.sigmoid(), chunk=16)
    mask_probs = F.interpolate(mask_logits, size=(24, 28), mode='bilinear',
                               align_corners=False).sigmoid()
    scores = torch.einsum('bqc,bqhw->bchw', class_probs, mask_probs)
    for resized in [(24, 28), (37, 19), (10, 13)]:
        up = F.interpolate(scores, size=resized, mode='bilinear', align_corners=False)
        assert set(up.argmax(dim=1).unique().tolist()) <= set(keep.nonzero().flatten().tolist())
    assert 0 < int(keep.sum()) < classes // 2  # most classes are ruled out


def test_map_winners_are_candidates():
    torch.manual_seed(0)
    maps = torch.randn(1, 50, 5, 5) * 0.1
    maps[0, 7] += 1.  # one class above all others everywhere but one corner
    maps[0, 9, 0, 0] += 2.
    keep = map_candidates(maps, chunk=8)
    assert _winners(maps, (40, 40), (23, 31)) <= set(keep.nonzero().flatten().tolist())
    assert keep.nonzero().flatten().tolist() == [7, 9]
