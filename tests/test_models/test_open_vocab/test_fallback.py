"""Uncovered{Region,Pixel}Fallback: uncovered pixels named by dense embeddings, covered pixels
untouched."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.evaluation.functional import INSTANCE_OFFSET

from umg_mm.models.open_vocab import UncoveredPixelFallback, UncoveredRegionFallback
from umg_mm.models.open_vocab import dense_class_scores

# classes: 0 star (thing), 1 circle (thing), 2 sand (stuff), 3 brick (stuff); void = 4
VOCAB = ['star', 'circle', 'sand', 'brick']
CLASSES = torch.eye(4)
VOID = 4


def world():
    """A 16x16 dense map (one pixel per output pixel) and a panoptic map covering its left half.

    Left half: sand, covered by a proposal (label 2) with one circle instance (id 1).
    Right half (void): brick background with a 4x4 star and a 1-pixel circle speck.
    """
    dense = CLASSES[2][:, None, None].repeat(1, 16, 16)
    dense[:, :, 8:] = CLASSES[3][:, None, None]
    dense[:, 4:8, 10:14] = CLASSES[0][:, None, None]
    dense[:, 14, 14] = CLASSES[1]
    pan = torch.full((16, 16), VOID, dtype=torch.int32)
    pan[:, :8] = 2
    pan[2:5, 2:5] = 1 + 1 * INSTANCE_OFFSET
    return dense, pan


def fill(fallback, dense, pan):
    return fallback(pan, dense, CLASSES, num_things=2, img_shape=(16, 16), pad_shape=(16, 16))


def test_void_regions_become_new_instances_and_stuff_covered_pixels_unchanged():
    dense, pan = world()
    out = fill(UncoveredRegionFallback(min_area=4), dense, pan)
    assert torch.equal(out[:, :8], pan[:, :8])
    star = out[4:8, 10:14]
    assert (star % INSTANCE_OFFSET == 0).all() and (star // INSTANCE_OFFSET == 2).all()
    brick = out[:, 8:].clone()
    brick[4:8, 2:6] = 3  # the star and the speck (right-half coordinates)
    brick[14, 6] = 3
    assert (brick == 3).all()
    assert int(out[14, 14]) == VOID  # one pixel < min_area stays void


def test_min_area_one_keeps_the_speck_as_an_instance():
    dense, pan = world()
    out = fill(UncoveredRegionFallback(min_area=1), dense, pan)
    assert int(out[14, 14]) % INSTANCE_OFFSET == 1
    assert len({int(v) for v in out[out % INSTANCE_OFFSET < 2].unique()}) == 3  # 3 instances


def test_seen_classes_stay_void_and_vocabulary_is_required():
    dense, pan = world()
    fallback = UncoveredRegionFallback(min_area=1, seen_classes=['circle', 'SAND'])
    with pytest.raises(RuntimeError, match='set_vocabulary'):
        fill(fallback, dense, pan)
    assert fallback.set_vocabulary(VOCAB).tolist() == [True, False, False, True]
    out = fill(fallback, dense, pan)
    assert int(out[14, 14]) == VOID  # circle was seen: left void
    assert int(out[5, 11]) % INSTANCE_OFFSET == 0 and int(out[0, 15]) == 3
    fallback.set_vocabulary(VOCAB[:3])
    with pytest.raises(RuntimeError, match='knows 3 classes but the vocabulary has 4'):
        fill(fallback, dense, pan)


def test_score_threshold_drops_ambiguous_regions():
    dense, pan = world()
    background = dense[:, :, 8:] == CLASSES[3][:, None, None]
    brick_like_sand = (CLASSES[3] + CLASSES[2] * 0.98)[:, None, None]
    dense[:, :, 8:] = torch.where(background.all(0), brick_like_sand,
                                  dense[:, :, 8:])  # the star stays clear
    out = fill(UncoveredRegionFallback(min_area=4, score_thr=0.9), dense, pan)
    assert int(out[0, 15]) == VOID and int(out[5, 11]) % INSTANCE_OFFSET == 0


def test_no_void_returns_the_map_and_bad_arguments_are_refused():
    dense, pan = world()
    pan[:] = 2
    assert torch.equal(fill(UncoveredRegionFallback(), dense, pan), pan)
    with pytest.raises(ValueError, match='min_area'):
        UncoveredRegionFallback(min_area=0)
    with pytest.raises(ValueError, match='score_thr'):
        UncoveredRegionFallback(score_thr=1.5)


def test_scores_are_cropped_to_the_image_before_resizing():
    dense = torch.zeros(2, 4, 4)
    dense[0, :, :2] = 1  # image: left half of the padded input
    dense[1, :, 2:] = 1  # padding
    scores = dense_class_scores(dense, F.normalize(torch.eye(2), dim=1), img_shape=(8, 4),
                                pad_shape=(8, 8), out_shape=(16, 8))
    assert scores.shape == (2, 16, 8)
    assert (scores[0] > scores[1]).all()  # the padding's class never reaches the image


def semantic_world():
    """``(1, 4, 16, 16)`` head scores covering the left half with sand (score 1.2) and almost
    nothing on the right, and ``(1, 4, 8, 8)`` dense embeddings: sand left, brick right."""
    scores = torch.full((1, 4, 16, 16), 0.01)
    scores[0, 2, :, :8] = 1.2
    dense = CLASSES[2][None, :, None, None].repeat(1, 1, 8, 8)
    dense[..., 4:] = CLASSES[3][None, :, None, None]
    return scores, dense


def test_pixel_fallback_gives_uncovered_pixels_clip_probabilities():
    scores, dense = semantic_world()
    out = UncoveredPixelFallback(coverage_thr=0.5)(scores, dense, CLASSES)
    assert torch.equal(out[..., :8], scores[..., :8])
    assert (out[0, :, :, 8:].argmax(0) == 3).all()
    assert torch.allclose(out[0, :, :, 8:].sum(0), torch.ones(16, 8))


def test_pixel_fallback_leaves_seen_classes_and_covered_pixels_alone():
    scores, dense = semantic_world()
    fallback = UncoveredPixelFallback(coverage_thr=0.5, seen_classes=['brick'])
    fallback.set_vocabulary(VOCAB)
    assert torch.equal(fallback(scores, dense, CLASSES), scores)  # CLIP says brick: seen
    assert torch.equal(UncoveredPixelFallback(coverage_thr=0.005)(scores, dense, CLASSES), scores)
    with pytest.raises(ValueError, match='coverage_thr'):
        UncoveredPixelFallback(coverage_thr=0.)
