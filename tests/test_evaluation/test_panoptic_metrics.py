"""OpenVocabPanopticMetric (seen / held-out PQ) and PanopticSemanticIoUMetric (mIoU from
panoptic predictions)."""
import math

import pytest
import torch
from mmdet.evaluation.functional import INSTANCE_OFFSET
from panopticapi.evaluation import PQStat

from umg_mm.evaluation.metrics import OpenVocabPanopticMetric, PanopticSemanticIoUMetric

META = dict(classes=('circle', 'star', 'sky', 'brick'), thing_classes=('circle', 'star'),
            stuff_classes=('sky', 'brick'))


def stats(**per_class):
    stat = PQStat()
    for label, (iou, tp, fp, fn) in per_class.items():
        cat = stat[int(label[1:])]
        cat.iou, cat.tp, cat.fp, cat.fn = iou, tp, fp, fn
    return stat


def metric(**kwargs):
    m = OpenVocabPanopticMetric(nproc=1, **kwargs)
    m.dataset_meta = META
    return m


def test_pq_on_seen_and_held_out_classes():
    # circle: PQ 0.8 (two images); star: one miss and one false positive; sky: PQ 0.9; brick absent
    results = [stats(c0=(0.8, 1, 0, 0), c1=(0., 0, 1, 0)),
               stats(c0=(0.8, 1, 0, 0), c1=(0., 0, 0, 1), c2=(0.9, 1, 0, 0))]
    out = metric(seen_classes=['circle', 'sky']).compute_metrics(results)
    assert out['PQ'] == pytest.approx(100 * (0.8 + 0. + 0.9) / 3)
    assert out['PQ_seen'] == pytest.approx(85.)
    assert out['SQ_seen'] == pytest.approx(85.) and out['RQ_seen'] == pytest.approx(100.)
    assert out['PQ_held_out'] == pytest.approx(0.)
    assert out['PQ_th'] == pytest.approx(40.)  # the parent's figures are kept


def test_a_split_without_any_class_reports_nan():
    # (mmdet's own averages need a thing and a stuff class present)
    out = metric(seen_classes=['circle', 'Star', 'sky']).compute_metrics([stats(c0=(0.5, 1, 0, 0),
                                                                    c2=(0.5, 1, 0, 0))])
    assert out['PQ_seen'] == pytest.approx(50.) and math.isnan(out['PQ_held_out'])


def test_errors():
    with pytest.raises(ValueError, match='outfile_prefix'):
        OpenVocabPanopticMetric(seen_classes=['star'], outfile_prefix='/tmp/x')


def test_miou_of_panoptic_class_maps():
    m = PanopticSemanticIoUMetric(iou_metrics=['mIoU'])
    m.dataset_meta = dict(classes=('a', 'b', 'c'))
    # instance 1 of class 0, class 0, class 1, void (3); ground truth 0, 0, 2, 1, ignored
    pred = torch.tensor([[[0 + INSTANCE_OFFSET, 0, 1, 3, 2]]])
    gt = torch.tensor([[[0, 0, 2, 1, 255]]])
    m.process({}, [dict(pred_panoptic_seg=dict(sem_seg=pred), gt_sem_seg=dict(sem_seg=gt))])
    out = m.compute_metrics(m.results)
    assert out['mIoU'] == pytest.approx(100 / 3, abs=0.01)  # IoU 1, 0, 0
    assert out['aAcc'] == pytest.approx(50.)
    # after CocoPanopticMetric rewrote void to 0 in place: a bare thing label is void, not class 0
    things = PanopticSemanticIoUMetric(iou_metrics=['mIoU'])
    things.dataset_meta = dict(classes=('a', 'b', 'c'), thing_classes=('a', ))
    rewritten = torch.tensor([[[0 + INSTANCE_OFFSET, 0, 1, 0, 2]]])
    things.process({}, [dict(pred_panoptic_seg=dict(sem_seg=rewritten),
                             gt_sem_seg=dict(sem_seg=gt))])
    out = things.compute_metrics(things.results)
    assert out['aAcc'] == pytest.approx(25.)  # only the first pixel is right
    with pytest.raises(KeyError, match='LoadPanopticAnnotations'):
        m.process({}, [dict(pred_panoptic_seg=dict(sem_seg=pred))])
