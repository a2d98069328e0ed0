"""CocoPanopticSubsetDataset: training on some categories of a COCO panoptic file drops the
segments of the others (mmdet's CocoPanopticDataset raises a KeyError on them)."""
import json

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from umg_mm.datasets import CocoPanopticSubsetDataset
from umg_mm.datasets.panoptic_png import encode_panoptic_png

CATEGORIES = [dict(id=1, name='cat', isthing=1), dict(id=2, name='dog', isthing=1),
              dict(id=3, name='sky', isthing=0), dict(id=4, name='sea', isthing=0)]


@pytest.fixture
def panoptic(tmp_path):
    ids = np.full((16, 16), 3)  # sky
    ids[8:] = 4  # sea
    ids[2:6, 2:6] = 1  # a cat
    ids[10:14, 10:14] = 2  # a dog
    (tmp_path / 'pan').mkdir()
    (tmp_path / 'pan' / 'a.png').write_bytes(encode_panoptic_png(ids))
    cv2.imwrite(str(tmp_path / 'a.jpg'), np.zeros((16, 16, 3), np.uint8))
    segments = [dict(id=i, category_id=i, iscrowd=0, area=int((ids == i).sum()),
                     bbox=[0, 0, 16, 16]) for i in (1, 2, 3, 4)]
    (tmp_path / 'pan.json').write_text(json.dumps(dict(
        images=[dict(id=0, file_name='a.jpg', height=16, width=16)],
        annotations=[dict(image_id=0, file_name='a.png', segments_info=segments)],
        categories=CATEGORIES)))
    return tmp_path


def test_held_out_segments_become_void(panoptic):
    init_default_scope('mmdet')
    dataset = CocoPanopticSubsetDataset(
        data_root=str(panoptic), ann_file='pan.json', data_prefix=dict(img='', seg='pan/'),
        metainfo=dict(classes=('cat', 'sky'), thing_classes=('cat',), stuff_classes=('sky',)),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True,
                       with_seg=True)])
    info = dataset.get_data_info(0)
    assert [(s['id'], s['category']) for s in info['segments_info']] == [(1, 0), (3, 1)]
    sample = dataset[0]
    assert sample['gt_bboxes_labels'].tolist() == [0]
    seg = sample['gt_seg_map']
    assert seg[3, 3] == 0 and seg[0, 0] == 1
    assert seg[12, 12] == 255 and seg[9, 0] == 255  # dog and sea: void
