"""mmdet's and mmseg's visualisers drawing through umg_mm's picture path: built from their
registries, ground truth beside prediction, names in any script; the shipped configs name them."""
import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import VISUALIZERS as DET_VISUALIZERS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData, PixelData
from mmseg.registry import VISUALIZERS as SEG_VISUALIZERS
from mmseg.structures import SegDataSample

from umg_mm.visualization import (draw_regions, panoptic_regions, semantic_regions,
                                  side_by_side)
from umg_mm.visualization.visualizers import TITLES

CLASSES = ['猫', 'кошка', 'قطة', 'sky']
PALETTE = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]


def image_and_maps():
    image = np.full((32, 48, 3), 100, np.uint8)
    gt = np.full((32, 48), 3)
    gt[4:20, 4:20] = 0
    gt[10:30, 25:45] = 2
    pred = gt.copy()
    pred[4:20, 4:20] = 1
    return image, gt, pred


def test_seg_visualizer_draws_ground_truth_beside_prediction(tmp_path):
    image, gt, pred = image_and_maps()
    visualizer = SEG_VISUALIZERS.build(dict(type='mmseg.UMGSegLocalVisualizer', name='umg_test_seg'))
    visualizer.dataset_meta = dict(classes=CLASSES, palette=PALETTE)
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
    sample.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
    out = tmp_path / 'seg.png'
    visualizer.add_datasample('seg', image, sample, out_file=str(out))
    expected = side_by_side([draw_regions(image, semantic_regions(gt, CLASSES, PALETTE)),
                             draw_regions(image, semantic_regions(pred, CLASSES, PALETTE))],
                            titles=[TITLES['gt'], TITLES['pred']])
    np.testing.assert_array_equal(cv2.imread(str(out))[..., ::-1], expected)
    assert expected.shape[1] >= 2 * 512  # 48 px enlarged 11x, twice
    np.testing.assert_array_equal(visualizer.get_image(), expected)


def test_det_visualizer_draws_panoptic_ground_truth_and_prediction(tmp_path):
    image, gt, pred = image_and_maps()
    visualizer = DET_VISUALIZERS.build(dict(type='mmdet.UMGDetLocalVisualizer', name='umg_test_det',
                                            vis_backends=[dict(type='LocalVisBackend')],
                                            save_dir=str(tmp_path / 'vis')))
    visualizer.dataset_meta = dict(classes=CLASSES, palette=PALETTE)
    sample = DetDataSample()
    things = np.stack([gt == 0, gt == 2])  # two thing instances, 'sky' is stuff
    sample.gt_instances = InstanceData(labels=torch.tensor([0, 2]),
                                       bboxes=torch.zeros(2, 4),
                                       masks=BitmapMasks(things, 32, 48))
    sample.gt_sem_seg = PixelData(sem_seg=torch.from_numpy(gt)[None])
    ids = pred.copy()
    ids[pred == 1] = 1 + 1000  # instance 1 of class 1 (mmdet's label + id * INSTANCE_OFFSET)
    sample.pred_panoptic_seg = PixelData(sem_seg=torch.from_numpy(ids)[None])
    visualizer.add_datasample('det', image, sample)
    drawn = visualizer.get_image()
    gt_regions = semantic_regions(np.where(things.any(0), -1, gt), CLASSES, PALETTE)
    assert [r.name for r in gt_regions] == ['sky']
    expected_gt = draw_regions(image, gt_regions + [r for r in semantic_regions(gt, CLASSES,
                                                                                PALETTE)
                                                    if r.name != 'sky'])
    expected = side_by_side([expected_gt,
                             draw_regions(image, panoptic_regions(ids, CLASSES, PALETTE))],
                            titles=[TITLES['gt'], TITLES['pred']])
    np.testing.assert_array_equal(drawn, expected)
    # the local backend wrote it
    assert len(list((tmp_path / 'vis').rglob('*.png'))) == 1


def test_det_visualizer_boxes_below_the_threshold_are_left_out():
    image = np.full((32, 48, 3), 100, np.uint8)
    visualizer = DET_VISUALIZERS.build(dict(type='mmdet.UMGDetLocalVisualizer', name='umg_test_box'))
    visualizer.dataset_meta = dict(classes=CLASSES)
    sample = DetDataSample()
    sample.pred_instances = InstanceData(labels=torch.tensor([0, 1]),
                                         bboxes=torch.tensor([[2., 2, 20, 20], [20, 2, 40, 30]]),
                                         scores=torch.tensor([0.9, 0.1]))
    visualizer.add_datasample('boxes', image, sample, draw_gt=False, pred_score_thr=0.5)
    one = visualizer.get_image()
    visualizer.add_datasample('boxes', image, sample, draw_gt=False, pred_score_thr=0.)
    assert not np.array_equal(one, visualizer.get_image())


def test_classes_are_needed():
    visualizer = DET_VISUALIZERS.build(dict(type='mmdet.UMGDetLocalVisualizer', name='umg_test_none'))
    with pytest.raises(ValueError, match=r'needs dataset_meta\["classes"\]'):
        visualizer.add_datasample('x', np.zeros((8, 8, 3), np.uint8), DetDataSample())
