"""Quality of pseudo-annotations against ground truth: boxes, masks, tags; held-out apart."""
import copy
import math

import numpy as np
import pytest

from umg_mm.data_engine.quality import evaluate, pair_records
from umg_mm.datasets.mask_rle import encode_rle


def _mask(y1, y2, x1, x2, size=(32, 32)):
    mask = np.zeros(size, bool)
    mask[y1:y2, x1:x2] = True
    return mask


def _truth():
    """A ground-truth record in the synthetic world's layout (docs/synthetic_world.md)."""
    star, circle = _mask(2, 10, 2, 10), _mask(20, 30, 18, 30)
    sky = ~(star | circle)
    return {'schema': 'umg/1', 'image': {'file_name': 'val_000001.jpg', 'height': 32,
                                         'width': 32},
            'tags': ['circle', 'star', 'sky'],
            'regions': [{'bbox': [2., 2., 10., 10.], 'tags': ['star']},
                        {'bbox': [18., 20., 30., 30.], 'tags': ['circle']}],
            'segments': [{'segmentation': encode_rle(sky), 'tags': ['sky'], 'isthing': False},
                         {'segmentation': encode_rle(star), 'tags': ['star'], 'isthing': True},
                         {'segmentation': encode_rle(circle), 'tags': ['circle'],
                          'isthing': True}]}


def test_perfect_pseudo_annotations_score_100():
    truth = _truth()
    pred = copy.deepcopy(truth)
    pred['image']['file_name'] = 'sub/val_000001.png'  # matched by stem
    result = evaluate(pair_records([pred], [truth]), held_out=['star'],
                      things=['star', 'circle'])
    for level in ('boxes', 'tags'):
        assert result[level]['all']['precision'] == result[level]['all']['recall'] == 100
    assert result['masks']['all'] == result['masks']['held_out'] == 100
    assert result['masks']['things'] == result['masks']['stuff'] == 100
    assert result['boxes']['held_out']['tp'] == 1 and result['boxes']['seen']['tp'] == 1


def test_errors_are_counted_per_class_and_split():
    truth = _truth()
    pred = copy.deepcopy(truth)
    pred['regions'][0]['bbox'] = [2., 2., 5., 5.]           # star box IoU 9/64 < 0.5
    pred['regions'].append({'bbox': [0., 0., 4., 4.], 'tags': ['heart']})  # not there
    pred['tags'] = ['circle', 'heart']                      # misses star, sky; heart wrong
    pred['segments'][2]['tags'] = ['ring']                  # circle mask named ring
    result = evaluate(pair_records([pred], [truth]), held_out=['star', 'heart'])
    boxes = result['boxes']
    assert (boxes['all']['tp'], boxes['all']['fp'], boxes['all']['fn']) == (1, 2, 1)
    assert boxes['seen']['precision'] == 100 and boxes['held_out']['tp'] == 0
    assert boxes['held_out']['fp'] == 2 and boxes['held_out']['fn'] == 1
    tags = result['tags']
    assert tags['all']['precision'] == 50 and tags['all']['recall'] == pytest.approx(100 / 3)
    masks = result['masks']
    assert masks['per_class']['sky'] == 100 and masks['per_class']['star'] == 100
    assert masks['per_class']['circle'] == 0 and masks['per_class']['ring'] == 0
    assert masks['all'] == 50 and masks['held_out'] == 100 and masks['seen'] == pytest.approx(
        100 / 3)


def test_a_partial_mask_scores_its_iou():
    truth = _truth()
    pred = copy.deepcopy(truth)
    pred['segments'] = [{'segmentation': encode_rle(_mask(2, 10, 2, 8)), 'tags': ['star'],
                         'isthing': True}]  # IoU 48/64
    masks = evaluate(pair_records([pred], [truth]), held_out=[])['masks']
    assert masks['per_class']['star'] == pytest.approx(75.)
    assert masks['per_class']['sky'] == 0 and math.isnan(masks['held_out'])


def test_an_image_without_ground_truth_is_named():
    pred = _truth()
    pred['image']['file_name'] = 'val_000099.jpg'
    with pytest.raises(KeyError, match='val_000099'):
        pair_records([pred], [_truth()])
