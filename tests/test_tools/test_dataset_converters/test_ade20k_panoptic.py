import json

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope


@pytest.fixture
def ade(tmp_path):
    """ADEChallengeData2016 with instance annotations, in the real layout, for 4 classes."""
    root = tmp_path / 'ADEChallengeData2016'
    root.mkdir()
    (root / 'objectInfo150.txt').write_text(
        'Idx\tRatio\tTrain\tVal\tName\n1\t0.15\t11664\t1172\twall\n'
        '2\t0.10\t6046\t612\tbuilding;edifice\n3\t0.09\t8265\t796\tsky\n'
        '4\t0.06\t9336\t917\tperson;individual;someone\n5\t0.01\t100\t10\tcar;auto\n')
    (root / 'categoryMapping.txt').write_text(
        'instanceCategory semanticCategory name\n1 5 car\n2 4 person\n')
    for split, stems in (('training', ['ADE_train_00000001']),
                         ('validation', ['ADE_val_00000001', 'ADE_val_00000002'])):
        for sub in ('images', 'annotations', 'annotations_instance'):
            (root / sub / split).mkdir(parents=True)
        for stem in stems:
            sem = np.zeros((24, 32), np.uint8)
            sem[:8] = 3  # sky
            sem[8:] = 1  # wall
            sem[10:20, 2:10] = 4  # person (semantic), slightly larger than the instance
            sem[0:2, 0:2] = 0  # other
            ins = np.zeros((24, 32, 3), np.uint8)  # R category, G instance id
            ins[11:20, 2:10] = (2, 1, 0)  # person
            ins[12:22, 20:30] = (1, 2, 0)  # car, over wall
            ins[12:22, 12:16] = (1, 3, 0)  # another car
            cv2.imwrite(str(root / 'images' / split / f'{stem}.jpg'),
                        np.zeros((24, 32, 3), np.uint8))
            cv2.imwrite(str(root / 'annotations' / split / f'{stem}.png'), sem)
            cv2.imwrite(str(root / 'annotations_instance' / split / f'{stem}.png'),
                        ins[..., ::-1])
    return root


def test_ade20k_panoptic(ade, tmp_path, load_tool):
    out = tmp_path / 'out'
    load_tool('dataset_converters/ade20k_panoptic.py').main([str(ade), str(out)])
    pan = json.loads((out / 'ade20k_panoptic_val.json').read_text())
    assert [(c['id'], c['name'], c['isthing']) for c in pan['categories']] == [
        (4, 'person, individual, someone', 1), (5, 'car, auto', 1), (1, 'wall', 0),
        (2, 'building, edifice', 0), (3, 'sky', 0)]
    assert (out / 'ade20k_panoptic_classes.txt').read_text().splitlines()[:2] == [
        'person, individual, someone', 'car, auto']
    assert [i['file_name'] for i in pan['images']] == ['ADE_val_00000001.jpg',
                                                       'ADE_val_00000002.jpg']
    ann = pan['annotations'][0]
    png = cv2.imread(str(out / 'ade20k_panoptic_val' / ann['file_name']))
    ids = png[..., 2].astype(int) + 256 * png[..., 1] + 65536 * png[..., 0]
    by_cat = {}
    for seg in ann['segments_info']:
        mask = ids == seg['id']
        assert mask.sum() == seg['area']
        x, y, w, h = seg['bbox']
        ys, xs = np.nonzero(mask)
        assert [x, y, x + w, y + h] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        by_cat.setdefault(seg['category_id'], []).append(seg)
    assert sorted((k, len(v)) for k, v in by_cat.items()) == [(1, 1), (3, 1), (4, 1), (5, 2)]
    assert (ids[0:2, 0:2] == 0).all()  # "other" stays void
    assert ids[10, 5] == 0  # semantic person pixel without instance: void
    car_ids = {s['id'] for s in by_cat[5]}
    assert {ids[15, 25], ids[15, 14]} == car_ids  # instances painted over the wall


def test_output_reads_in_mmdet_and_panopticapi(ade, tmp_path, load_tool):
    from mmdet.datasets import CocoPanopticDataset
    from panopticapi.evaluation import pq_compute
    out = tmp_path / 'out'
    load_tool('dataset_converters/ade20k_panoptic.py').main([str(ade), str(out)])
    things = (out / 'ade20k_panoptic_things.txt').read_text().splitlines()
    stuff = (out / 'ade20k_panoptic_stuff.txt').read_text().splitlines()
    init_default_scope('mmdet')
    dataset = CocoPanopticDataset(
        data_root=str(ade), ann_file=str(out / 'ade20k_panoptic_val.json'),
        data_prefix=dict(img='images/validation/', seg=str(out / 'ade20k_panoptic_val') + '/'),
        metainfo=dict(classes=things + stuff, thing_classes=things, stuff_classes=stuff),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadPanopticAnnotations', backend_args=None)])
    item = dataset[0]
    assert sorted(item['gt_bboxes_labels'].tolist()) == [0, 1, 1]
    assert item['gt_seg_map'][0, 5] == (things + stuff).index('sky')
    ann = str(out / 'ade20k_panoptic_val.json')
    folder = str(out / 'ade20k_panoptic_val')
    assert pq_compute(ann, ann, folder, folder)['All']['pq'] == pytest.approx(1.0)


def test_instance_with_two_categories_is_an_error(ade, tmp_path, load_tool):
    path = ade / 'annotations_instance' / 'training' / 'ADE_train_00000001.png'
    ins = cv2.imread(str(path))
    ins[11, 2] = (0, 1, 1)  # BGR: R = 1 (car) inside the person instance (G = 1)
    cv2.imwrite(str(path), ins)
    with pytest.raises(ValueError, match=r'ADE_train_00000001\.png: instance 1 has instance '
                                         r'categories \[1, 2\]'):
        load_tool('dataset_converters/ade20k_panoptic.py').main([str(ade), str(tmp_path / 'o')])
