"""OpenVocabIoUMetric: mmseg's mIoU plus mIoU over seen and held-out classes."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from umg_mm.evaluation.metrics import OpenVocabIoUMetric


def _sample(pred, label):
    sample = SegDataSample(pred_sem_seg=PixelData(data=torch.tensor(pred)[None]),
                           gt_sem_seg=PixelData(data=torch.tensor(label)[None]))
    return sample.to_dict()


def test_breakdown_over_seen_and_held_out():
    metric = OpenVocabIoUMetric(seen_classes=['sky', 'grass'])
    metric.dataset_meta = dict(classes=('sky', 'star', 'grass', 'brick'),
                               vocabulary=(('sky',), ('star',), ('grass',), ('brick',)))
    label = [[0, 0, 1, 1], [2, 2, 3, 255]]
    pred = [[0, 0, 1, 2], [2, 2, 1, 3]]  # sky 1, star 1/3, grass 2/3, brick 0/2 (ignored px)
    metric.process([], [_sample(pred, label)])
    results = metric.compute_metrics(metric.results)
    iou = {'sky': 1.0, 'star': 1 / 3, 'grass': 2 / 3, 'brick': 0.0}
    assert results['mIoU'] == pytest.approx(100 * np.mean(list(iou.values())), abs=0.01)
    assert results['mIoU_seen'] == pytest.approx(100 * (1 + 2 / 3) / 2, abs=0.01)
    assert results['mIoU_held_out'] == pytest.approx(100 * (1 / 3) / 2, abs=0.01)


def test_classes_absent_everywhere_are_left_out_and_empty_subsets_are_nan():
    metric = OpenVocabIoUMetric(seen_classes=['a', 'b', 'c'])
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))  # no vocabulary: classes are used
    metric.process([], [_sample([[0, 0], [1, 1]], [[0, 0], [1, 1]])])  # 'c' nowhere
    results = metric.compute_metrics(metric.results)
    assert results['mIoU_seen'] == 100.0
    assert math.isnan(results['mIoU_held_out'])


def test_needs_miou():
    with pytest.raises(ValueError, match="must include 'mIoU'"):
        OpenVocabIoUMetric(seen_classes=['a'], iou_metrics=['mDice'])
