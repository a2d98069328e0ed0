"""mmdet's geometric and colour transforms keep UMG boxes, masks and texts together."""
import numpy as np
import pytest
from mmcv.transforms import Compose

from tests.test_datasets.test_transforms.utils import data_info
from umg_mm.registry import TRANSFORMS

LOAD = [dict(type='LoadUMGImage'), dict(type='LoadUMGAnnotations', caption_sampling='first')]


def _run(steps, info=None):
    return Compose([TRANSFORMS.build(s) if isinstance(s, dict) else s
                    for s in LOAD + steps + [dict(type='PackUMGInputs')]])(
                        info or data_info(0))


def _tight_box(mask):
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_crop_that_removes_regions_drops_their_texts_and_masks():
    crop = TRANSFORMS.build(dict(type='mmdet.RandomCrop', crop_size=(24, 32),
                                 allow_negative_crop=True))
    crop._rand_offset = lambda margin: (0, 24)  # keep the right half: x in [24, 48)
    packed = _run([crop])
    sample = packed['data_samples']
    assert packed['inputs'].shape == (3, 32, 24)
    # the left square (region 0, segment 0) is gone with its texts; the triangle stays
    assert sample.gt_instances.texts == ['triangle 0']
    np.testing.assert_allclose(sample.gt_instances.bboxes, [[8, 4, 20, 12]])
    assert sample.gt_segments.tags == [['triangle'], ['ground', 'floor']]
    assert sample.gt_segments.isthing.tolist() == [True, False]
    masks = sample.gt_segments.masks
    assert masks.shape == (2, 32, 24)
    np.testing.assert_allclose(sample.gt_segments.bboxes[1], [0, 26, 24, 32])
    assert _tight_box(masks[1].numpy()) == [0, 26, 24, 32]


def test_crop_keeps_texts_aligned_with_the_boxes_they_describe():
    crop = TRANSFORMS.build(dict(type='mmdet.RandomCrop', crop_size=(20, 32),
                                 allow_negative_crop=True))
    crop._rand_offset = lambda margin: (0, 0)  # keep x in [0, 20): the square only
    sample = _run([crop])['data_samples']
    assert sample.gt_instances.texts == ['the left square 0']
    np.testing.assert_allclose(sample.gt_instances.bboxes, [[4, 4, 14, 12]])
    assert sample.gt_segments.texts == ['sq 0', 'ground']


def test_horizontal_flip_moves_boxes_masks_and_optionally_swaps_left_right():
    flip = dict(type='mmdet.RandomFlip', prob=1.0, direction='horizontal')
    plain = _run([flip])['data_samples']
    swapped = _run([flip, dict(type='SwapLeftRightOnFlip')])['data_samples']
    np.testing.assert_allclose(plain.gt_instances.bboxes, [[34, 4, 44, 12], [4, 4, 16, 12]])
    square_mask = plain.gt_segments.masks[0].numpy()
    assert _tight_box(square_mask) == [34, 4, 44, 12]
    assert plain.gt_instances.texts[0] == 'the left square 0'
    assert swapped.gt_instances.texts[0] == 'the right square 0'
    assert swapped.img_text == 'image 0: a white square on the right of a triangle'
    assert swapped.img_captions[1] == 'image 0: a triangle left of a square'


def test_no_swap_without_a_horizontal_flip():
    sample = _run([dict(type='mmdet.RandomFlip', prob=1.0, direction='vertical'),
                   dict(type='SwapLeftRightOnFlip')])['data_samples']
    assert sample.gt_instances.texts[0] == 'the left square 0'
    np.testing.assert_allclose(sample.gt_instances.bboxes[0], [4, 20, 14, 28])


@pytest.mark.parametrize('keep_ratio', [True, False])
def test_resize_scales_boxes_and_masks_together(keep_ratio):
    sample = _run([dict(type='mmdet.Resize', scale=(96, 64), keep_ratio=keep_ratio)])
    inputs, sample = sample['inputs'], sample['data_samples']
    assert inputs.shape == (3, 64, 96)
    assert sample.gt_segments.masks.shape == (3, 64, 96)
    np.testing.assert_allclose(sample.gt_instances.bboxes[0], [8, 8, 28, 24])
    for mask, box in zip(sample.gt_segments.masks, sample.gt_segments.bboxes):
        np.testing.assert_allclose(_tight_box(mask.numpy()), box.numpy(), atol=1)


def test_random_resize_with_mmdet_resize():
    np.random.seed(0)
    packed = _run([dict(type='RandomResize', scale=(96, 64), ratio_range=(0.5, 1.5),
                        keep_ratio=True, resize_type='mmdet.Resize')])
    height, width = packed['inputs'].shape[1:]
    sample = packed['data_samples']
    assert sample.gt_segments.masks.shape[1:] == (height, width)
    scale = width / 48
    np.testing.assert_allclose(sample.gt_instances.bboxes[0], np.array([4, 4, 14, 12]) * scale,
                               atol=0.6)


@pytest.mark.parametrize('seed', range(12))
def test_random_pipeline_keeps_every_text_on_its_pixels(seed):
    """Under random flip, crop, resize and pad, the pixels under each 'square' mask or box stay
    the bright square, and each mask's tight box stays its box."""
    np.random.seed(seed)
    packed = _run([
        dict(type='mmdet.RandomFlip', prob=0.5),
        dict(type='SwapLeftRightOnFlip'),
        dict(type='mmdet.RandomCrop', crop_size=(0.5, 0.5), crop_type='relative_range',
             allow_negative_crop=True),
        dict(type='mmdet.Resize', scale=(64, 64), keep_ratio=True),
        dict(type='mmdet.Pad', size_divisor=32),
    ])
    img = packed['inputs'].numpy().astype(float).mean(0)
    sample = packed['data_samples']
    assert sample.gt_segments.masks.shape[1:] == img.shape
    for mask, box, tags in zip(sample.gt_segments.masks.numpy(), sample.gt_segments.bboxes,
                               sample.gt_segments.tags):
        assert mask.any()
        np.testing.assert_allclose(_tight_box(mask), box.numpy(), atol=1.5)
        if tags == ['square'] and mask.sum() >= 16:
            assert (img[mask] > 150).mean() > 0.7
    for box, text in zip(sample.gt_instances.bboxes.numpy(), sample.gt_instances.texts):
        x1, y1, x2, y2 = np.round(box).astype(int)
        if 'square' in text and (x2 - x1) * (y2 - y1) >= 16:
            assert (img[y1:y2, x1:x2] > 150).mean() > 0.7
            side = 'right' if sample.flip else 'left'
            assert text == f'the {side} square 0'


def test_photometric_distortion_leaves_annotations_alone():
    np.random.seed(0)
    base = _run([])['data_samples']
    distorted = _run([dict(type='mmdet.PhotoMetricDistortion')])['data_samples']
    np.testing.assert_array_equal(base.gt_instances.bboxes, distorted.gt_instances.bboxes)
    assert (base.gt_segments.masks == distorted.gt_segments.masks).all()
    assert base.gt_instances.texts == distorted.gt_instances.texts


def test_filter_annotations_drops_instances_with_their_texts():
    sample = _run([dict(type='mmdet.FilterAnnotations', min_gt_bbox_wh=(10.5, 1),
                        keep_empty=False)])['data_samples']
    # widths: regions 10 and 12, segments 10, 12, 48: the 10-px-wide square goes
    assert sample.gt_instances.texts == ['triangle 0']
    assert sample.gt_segments.texts == ['triangle', 'ground']
