import json

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest


def _write_png(path, ids):
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1).astype(np.uint8)
    cv2.imwrite(str(path), rgb[..., ::-1])


@pytest.fixture
def coco(tmp_path):
    """Two images in the real COCO captions and panoptic formats."""
    images = [{'id': 139, 'file_name': '000000000139.jpg', 'height': 30, 'width': 40},
              {'id': 285, 'file_name': '000000000285.jpg', 'height': 32, 'width': 32}]
    captions = {'info': {}, 'licenses': [], 'images': images, 'annotations': [
        {'image_id': 139, 'id': 1, 'caption': 'A man  standing under the sky.\n'},
        {'image_id': 139, 'id': 2, 'caption': 'Cars parked near a person. '},
        {'image_id': 285, 'id': 3, 'caption': 'A big brown bear.'},
        {'image_id': 285, 'id': 4, 'caption': '   '}]}
    ids = np.full((30, 40), 5, np.int64)  # sky
    ids[5:20, 10:18] = 7  # person
    ids[22:30, 0:12] = 300  # crowd of cars: id 300 needs the G channel
    ids[0:2, 0:2] = 0  # void
    (tmp_path / 'panoptic_val2017').mkdir()
    _write_png(tmp_path / 'panoptic_val2017' / '000000000139.png', ids)
    panoptic = {'images': images[:1], 'annotations': [{
        'image_id': 139, 'file_name': '000000000139.png', 'segments_info': [
            {'id': 5, 'category_id': 187, 'iscrowd': 0, 'bbox': [0, 0, 40, 30], 'area': 1000},
            {'id': 7, 'category_id': 1, 'iscrowd': 0, 'bbox': [10, 5, 8, 15], 'area': 120},
            {'id': 300, 'category_id': 3, 'iscrowd': 1, 'bbox': [0, 22, 12, 8], 'area': 96}]}],
        'categories': [{'id': 1, 'name': 'person', 'supercategory': 'person', 'isthing': 1},
                       {'id': 3, 'name': 'car', 'supercategory': 'vehicle', 'isthing': 1},
                       {'id': 187, 'name': 'sky-other-merged', 'supercategory': 'sky',
                        'isthing': 0}]}
    for name, data in (('captions_val2017.json', captions), ('panoptic_val2017.json', panoptic)):
        (tmp_path / name).write_text(json.dumps(data))
    return tmp_path, ids


def _run(load_tool, root, out, **extra):
    args = [str(out), '--captions', str(root / 'captions_val2017.json'), '--panoptic',
            str(root / 'panoptic_val2017.json'), '--panoptic-dir', str(root / 'panoptic_val2017')]
    load_tool('dataset_converters/coco2umg.py').main(args)
    with open(out) as f:
        return [json.loads(line) for line in f]


def test_coco_captions_and_panoptic_to_umg(coco, tmp_path, load_tool):
    root, ids = coco
    first, second = _run(load_tool, root, tmp_path / 'umg.jsonl')
    assert first['schema'] == 'umg/1'
    assert first['image'] == {'file_name': '000000000139.jpg', 'height': 30, 'width': 40,
                              'id': 139}
    assert first['captions'] == ['A man standing under the sky.', 'Cars parked near a person.']
    assert first['tags'] == ['sky', 'person', 'car']
    assert first['regions'] == [{'bbox': [10.0, 5.0, 18.0, 20.0], 'captions': [],
                                 'tags': ['person']}]  # the crowd gives no region
    assert [(s['tags'], s['isthing']) for s in first['segments']] == [
        (['sky'], False), (['person'], True), (['car'], True)]
    for seg, seg_id in zip(first['segments'], (5, 7, 300)):
        assert seg['segmentation']['size'] == [30, 40]
        assert (mask_utils.decode(seg['segmentation']) == (ids == seg_id)).all()
    assert second['captions'] == ['A big brown bear.']
    assert second['regions'] == [] and second['segments'] == []


def test_wrong_png_size_names_the_file(coco, tmp_path, load_tool):
    root, ids = coco
    _write_png(root / 'panoptic_val2017' / '000000000139.png', ids[:20])
    with pytest.raises(ValueError, match=r'000000000139\.png.*40x20.*40x30'):
        _run(load_tool, root, tmp_path / 'umg.jsonl')
    assert not (tmp_path / 'umg.jsonl').exists()


def test_segment_without_pixels_names_png_and_segment(coco, tmp_path, load_tool):
    root, ids = coco
    ids[ids == 7] = 5
    _write_png(root / 'panoptic_val2017' / '000000000139.png', ids)
    with pytest.raises(ValueError, match='segment id 7 .* has no pixel'):
        _run(load_tool, root, tmp_path / 'umg.jsonl')


def test_missing_field_names_file_and_record(coco, tmp_path, load_tool):
    root, _ = coco
    data = json.loads((root / 'captions_val2017.json').read_text())
    del data['annotations'][1]['caption']
    (root / 'captions_val2017.json').write_text(json.dumps(data))
    with pytest.raises(KeyError, match=r"captions_val2017\.json: annotations\[1\] has no field "
                                       r"'caption'"):
        _run(load_tool, root, tmp_path / 'umg.jsonl')
