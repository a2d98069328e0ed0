"""COCO instances -> COCO panoptic: overlaps (the smaller instance wins), polygons and both RLE
forms, crowds, the stuff segment of the unannotated pixels; mmdet's panoptic dataset and loader
read the result."""
import json

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from mmengine.registry import init_default_scope

from umg_mm.datasets.panoptic_png import decode_panoptic_bgr


@pytest.fixture
def instances(tmp_path):
    big = np.zeros((20, 30), np.uint8)
    big[2:18, 2:20] = 1
    rle = mask_utils.encode(np.asfortranarray(big))
    data = dict(
        images=[dict(id=7, file_name='a.jpg', height=20, width=30),
                dict(id=8, file_name='b.jpg', height=20, width=30)],
        categories=[dict(id=3, name='dog'), dict(id=5, name='cat')],
        annotations=[
            dict(id=1, image_id=7, category_id=3, iscrowd=0,  # big, compressed RLE
                 segmentation=dict(size=[20, 30], counts=rle['counts'].decode())),
            dict(id=2, image_id=7, category_id=5, iscrowd=0,  # small polygon on top of it
                 segmentation=[[5, 5, 10, 5, 10, 10, 5, 10]]),
            dict(id=3, image_id=8, category_id=5, iscrowd=1,  # crowd, uncompressed RLE
                 segmentation=dict(size=[20, 30], counts=[0, 600])),
        ])
    path = tmp_path / 'instances.json'
    path.write_text(json.dumps(data))
    for name in ('a', 'b'):
        cv2.imwrite(str(tmp_path / f'{name}.jpg'), np.zeros((20, 30, 3), np.uint8))
    return path


def test_convert_and_read_with_mmdet(load_tool, instances, tmp_path, capsys):
    tool = load_tool('dataset_converters/coco_instances2panoptic.py')
    out, pngs = tmp_path / 'panoptic.json', tmp_path / 'panoptic'
    tool.main([str(instances), str(out), str(pngs)])
    assert '2 images, 3 thing segments, 1 with a \'background\' segment; 0 instances' in \
        capsys.readouterr().out
    pan = json.loads(out.read_text())
    assert pan['categories'][-1] == dict(id=6, name='background', supercategory='', isthing=0)
    first = pan['annotations'][0]
    assert first['file_name'] == 'a.png'
    ids = decode_panoptic_bgr(cv2.imread(str(pngs / 'a.png')))
    by_id = {s['id']: s for s in first['segments_info']}
    assert by_id[2]['category_id'] == 5 and by_id[2]['bbox'] == [5, 5, 5, 5]  # small wins
    assert (ids[5:10, 5:10] == 2).all() and by_id[1]['area'] == 16 * 18 - 25
    assert by_id[3]['category_id'] == 6 and by_id[3]['area'] == 600 - 16 * 18
    crowd = pan['annotations'][1]['segments_info']
    assert len(crowd) == 1 and crowd[0]['iscrowd'] == 1 and crowd[0]['area'] == 600

    init_default_scope('mmdet')
    from mmdet.datasets import CocoPanopticDataset
    dataset = CocoPanopticDataset(
        data_root=str(tmp_path), ann_file='panoptic.json',
        data_prefix=dict(img='', seg='panoptic/'),
        metainfo=dict(classes=('dog', 'cat', 'background'), thing_classes=('dog', 'cat'),
                      stuff_classes=('background',)),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True,
                       with_seg=True)])
    sample = dataset[0]
    assert sorted(sample['gt_bboxes_labels'].tolist()) == [0, 1]
    assert set(np.unique(sample['gt_seg_map']).tolist()) == {0, 1, 2}


def test_a_fully_hidden_instance_is_dropped_and_counted(instances, tmp_path):
    from umg_mm.datasets.converters.coco_instances_panoptic import \
        convert_coco_instances_to_panoptic
    data = json.loads(instances.read_text())
    twin = dict(data['annotations'][1], id=4)  # the same polygon again: painted over it
    data['annotations'].append(twin)
    path = tmp_path / 'twins.json'
    path.write_text(json.dumps(data))
    counts = convert_coco_instances_to_panoptic(str(path), str(tmp_path / 'o.json'),
                                                str(tmp_path / 'png'))
    assert counts == dict(images=2, segments=3, background=1, dropped=1)
    segments = json.loads((tmp_path / 'o.json').read_text())['annotations'][0]['segments_info']
    assert [s['id'] for s in segments] == [1, 3, 4]  # instance 2 hidden by its twin (3)


def test_errors_name_the_record(instances, tmp_path):
    from umg_mm.datasets.converters.coco_instances_panoptic import \
        convert_coco_instances_to_panoptic
    data = json.loads(instances.read_text())
    data['annotations'][0]['category_id'] = 9
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r'annotations\[0\] has category_id 9'):
        convert_coco_instances_to_panoptic(str(bad), str(tmp_path / 'o.json'), str(tmp_path))
    with pytest.raises(ValueError, match="stuff_name 'cat' is already a category"):
        convert_coco_instances_to_panoptic(str(instances), str(tmp_path / 'o.json'),
                                           str(tmp_path), stuff_name='cat')
    data = json.loads(instances.read_text())
    data['annotations'][0]['segmentation']['size'] = [10, 30]
    bad.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r'annotations\[0\]: RLE size \[10, 30\] is not the '
                                         r'image size \[20, 30\]'):
        convert_coco_instances_to_panoptic(str(bad), str(tmp_path / 'o.json'), str(tmp_path))
    data['annotations'][0]['segmentation'] = []
    bad.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r'annotations\[0\]: empty polygon list'):
        convert_coco_instances_to_panoptic(str(bad), str(tmp_path / 'o.json'), str(tmp_path))
    assert not (tmp_path / 'o.json').exists()
