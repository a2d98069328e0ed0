import torch
from mmcv.transforms import Compose
from mmdet.structures import DetDataSample
from mmengine.dataset import pseudo_collate

from tests.test_datasets.test_transforms.utils import data_info
from umg_mm.registry import TRANSFORMS


def _pack(info, **load_kwargs):
    pipeline = Compose([TRANSFORMS.build(dict(type='LoadUMGImage')),
                        TRANSFORMS.build(dict(type='LoadUMGAnnotations',
                                              caption_sampling='first', **load_kwargs)),
                        TRANSFORMS.build(dict(type='PackUMGInputs'))])
    return pipeline(info)


def _assert_empty_regions(sample):
    assert sample.gt_instances.bboxes.shape == (0, 4)
    assert sample.gt_instances.bboxes.dtype == torch.float32
    assert sample.gt_instances.texts == [] and sample.gt_instances.tags == []


def _assert_empty_segments(sample, height, width):
    assert sample.gt_segments.masks.shape == (0, height, width)
    assert sample.gt_segments.masks.dtype == torch.bool
    assert sample.gt_segments.bboxes.shape == (0, 4)
    assert sample.gt_segments.isthing.shape == (0, )
    assert sample.gt_segments.texts == [] and sample.gt_segments.tags == []


def test_full_sample_format():
    packed = _pack(data_info(0))
    inputs, sample = packed['inputs'], packed['data_samples']
    assert isinstance(sample, DetDataSample)
    assert inputs.shape == (3, 32, 48) and inputs.dtype == torch.uint8
    regions, segments = sample.gt_instances, sample.gt_segments
    assert len(regions) == 2 and len(segments) == 3
    assert regions.bboxes.dtype == torch.float32
    assert regions.texts == ['the left square 0', 'triangle 0']
    assert regions.tags == [['square'], ['triangle 0']]
    assert segments.masks.shape == (3, 32, 48) and segments.masks.dtype == torch.bool
    assert segments.isthing.tolist() == [True, True, False]
    assert segments.tags[2] == ['ground', 'floor'] and segments.texts == ['sq 0', 'triangle',
                                                                           'ground']
    assert sample.img_text == 'image 0: a white square on the left of a triangle'
    assert len(sample.img_captions) == 2 and sample.img_tags == ['square', 'triangle', 'ground']
    assert sample.img_id == 'img_0000' and sample.ori_shape == (32, 48)
    assert sample.ann_file == 'ann_0.json'


def test_image_without_regions_or_segments():
    sample = _pack(data_info(0, regions=[], segments=[]))['data_samples']
    _assert_empty_regions(sample)
    _assert_empty_segments(sample, 32, 48)
    assert sample.img_text is not None


def test_image_with_regions_only_and_with_segments_only():
    sample = _pack(data_info(0, segments=[]))['data_samples']
    assert len(sample.gt_instances) == 2
    _assert_empty_segments(sample, 32, 48)
    sample = _pack(data_info(0, regions=[]))['data_samples']
    _assert_empty_regions(sample)
    assert sample.gt_segments.masks.shape == (3, 32, 48)


def test_image_with_nothing_but_the_image():
    sample = _pack(data_info(0, regions=[], segments=[], captions=[], tags=[]))['data_samples']
    _assert_empty_regions(sample)
    _assert_empty_segments(sample, 32, 48)
    assert sample.img_text is None and sample.img_captions == [] and sample.img_tags == []


def test_segments_not_loaded():
    sample = _pack(data_info(0), with_segments=False)['data_samples']
    assert len(sample.gt_instances) == 2
    _assert_empty_segments(sample, 32, 48)


def test_segment_emptied_by_augmentation_is_dropped():
    info = data_info(0)
    pipeline = Compose([TRANSFORMS.build(dict(type='LoadUMGImage')),
                        TRANSFORMS.build(dict(type='LoadUMGAnnotations'))])
    results = pipeline(info)
    masks = results['gt_masks'].masks.copy()
    masks[3] = 0  # as if a crop had cut the triangle's pixels but not its box
    results['gt_masks'] = type(results['gt_masks'])(masks, 32, 48)
    sample = TRANSFORMS.build(dict(type='PackUMGInputs'))(results)['data_samples']
    assert sample.gt_segments.tags == [['square'], ['ground', 'floor']]
    assert len(sample.gt_instances) == 2


def test_batch_with_uneven_levels_collates():
    batch = pseudo_collate([_pack(data_info(0)),
                            _pack(data_info(1, regions=[], segments=[]))])
    assert [len(s.gt_instances) for s in batch['data_samples']] == [2, 0]
    assert [len(s.gt_segments) for s in batch['data_samples']] == [3, 0]
    assert len(batch['inputs']) == 2


def test_masks_follow_padding():
    pipeline = Compose([TRANSFORMS.build(dict(type='LoadUMGImage')),
                        TRANSFORMS.build(dict(type='LoadUMGAnnotations')),
                        TRANSFORMS.build(dict(type='mmdet.Pad', size=(64, 64))),
                        TRANSFORMS.build(dict(type='PackUMGInputs'))])
    packed = pipeline(data_info(0))
    assert packed['inputs'].shape == (3, 64, 64)
    assert packed['data_samples'].gt_segments.masks.shape == (3, 64, 64)
    assert packed['data_samples'].pad_shape[:2] == (64, 64)
    assert not packed['data_samples'].gt_segments.masks[:, 32:].any()
