import numpy as np
import pytest
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks

from tests.test_datasets.test_transforms.utils import data_info
from umg_mm.registry import TRANSFORMS


def _tight_box(mask):
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def _load(info, **kwargs):
    info = TRANSFORMS.build(dict(type='LoadUMGImage'))(info)
    return TRANSFORMS.build(dict(type='LoadUMGAnnotations', **kwargs))(info)


def test_image_from_bytes_and_size_check():
    info = TRANSFORMS.build(dict(type='LoadUMGImage'))(data_info(0))
    assert info['img'].shape == (32, 48, 3) and info['ori_shape'] == (32, 48)
    assert 'img_bytes' not in info
    bad = data_info(0)
    bad['height'] = 30
    with pytest.raises(ValueError, match=r'ann_0.json image: image.height/width say 30x48'):
        TRANSFORMS.build(dict(type='LoadUMGImage'))(bad)


def test_regions_then_segments_in_mmdet_structures():
    res = _load(data_info(0))
    assert isinstance(res['gt_bboxes'], HorizontalBoxes)
    assert isinstance(res['gt_masks'], BitmapMasks)
    np.testing.assert_array_equal(res['gt_bboxes_labels'], np.arange(5))
    assert not res['gt_ignore_flags'].any()
    assert [e['level'] for e in res['umg_instances']] == ['region'] * 2 + ['segment'] * 3
    assert [e['isthing'] for e in res['umg_instances']] == [None, None, True, True, False]
    boxes = res['gt_bboxes'].tensor.numpy()
    masks = res['gt_masks'].to_ndarray()
    np.testing.assert_allclose(boxes[:2], [[4, 4, 14, 12], [32, 4, 44, 12]])
    # segment boxes are the tight boxes of their masks
    np.testing.assert_allclose(boxes[2], [4, 4, 14, 12])  # RLE square rows 4..11, cols 4..13
    np.testing.assert_allclose(boxes[3], _tight_box(masks[3]))  # polygon triangle
    np.testing.assert_allclose(boxes[4], [0, 26, 48, 32])  # stuff stripe
    assert masks.shape == (5, 32, 48)
    square = np.zeros((32, 48), np.uint8)
    square[4:12, 4:14] = 1
    np.testing.assert_array_equal(masks[2], square)
    assert masks[4][26:].all() and not masks[4][:26].any()
    # a region's mask is its filled box (it keeps the instance list aligned): box [4, 4, 14, 12]
    # covers pixel columns 4..13 and rows 4..11, the square
    np.testing.assert_array_equal(masks[0], square)
    assert res['img_captions'] and res['img_tags'] == ['square', 'triangle', 'ground']


def test_levels_can_be_left_out():
    res = _load(data_info(0), with_segments=False)
    assert len(res['gt_bboxes']) == 2 and 'gt_masks' not in res
    res = _load(data_info(0), with_regions=False)
    assert len(res['gt_bboxes']) == 3 and len(res['gt_masks']) == 3
    assert {e['level'] for e in res['umg_instances']} == {'segment'}


def test_polygon_masks_need_polygon_segments():
    with pytest.raises(ValueError, match=r'ann_0.json segments\[0\].segmentation: an RLE'):
        _load(data_info(0), poly2mask=False)
    info = data_info(0)
    info['segments'] = info['segments'][1:2]
    res = _load(info, poly2mask=False)
    assert isinstance(res['gt_masks'], PolygonMasks) and len(res['gt_masks']) == 3


def test_texts_fall_back_to_tags_and_first_mode_is_fixed():
    res = _load(data_info(0), caption_sampling='first')
    texts = [e['text'] for e in res['umg_instances']]
    assert texts == ['the left square 0', 'triangle 0', 'sq 0', 'triangle', 'ground']
    assert res['img_text'] == 'image 0: a white square on the left of a triangle'
    res = _load(data_info(0, captions=[], tags=[]))
    assert res['img_text'] is None


def test_caption_sampling_is_seeded_and_varies_per_call():
    def sample(seed, calls=40):
        loader = TRANSFORMS.build(dict(type='LoadUMGAnnotations', seed=seed))
        image = TRANSFORMS.build(dict(type='LoadUMGImage'))(data_info(0))
        return [loader(dict(image))['umg_instances'][4]['text'] for _ in range(calls)]

    first = sample(7)
    assert first == sample(7)
    assert set(first) == {'ground', 'floor'}  # the stuff segment's two tags, both drawn
    assert first != sample(8)


def test_invalid_sampling_mode():
    with pytest.raises(ValueError, match="'random' or 'first'"):
        TRANSFORMS.build(dict(type='LoadUMGAnnotations', caption_sampling='all'))
