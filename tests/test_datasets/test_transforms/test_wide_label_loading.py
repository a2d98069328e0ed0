import cv2
import numpy as np
import pytest

from umg_mm.datasets.transforms import LoadWideSegAnnotations


@pytest.fixture
def label_png(tmp_path):
    path = str(tmp_path / 'labels.png')
    cv2.imwrite(path, np.array([[0, 300], [846, 65535]], np.uint16))
    return path


def _results(path, **extra):
    return dict(seg_map_path=path, reduce_zero_label=False, seg_fields=[], **extra)


def test_keeps_16_bit_labels(label_png):
    out = LoadWideSegAnnotations()(_results(label_png))
    assert out['gt_seg_map'].dtype == np.uint16
    assert out['gt_seg_map'].tolist() == [[0, 300], [846, 65535]]
    assert out['seg_fields'] == ['gt_seg_map']


def test_applies_label_map(label_png):
    out = LoadWideSegAnnotations()(_results(label_png, label_map={300: 1, 846: 65535}))
    assert out['gt_seg_map'].tolist() == [[0, 1], [65535, 65535]]


def test_refuses_reduce_zero_label(label_png):
    loader = LoadWideSegAnnotations(reduce_zero_label=True)
    with pytest.raises(ValueError, match='reduce_zero_label'):
        loader(_results(label_png))
