import json

import pytest


@pytest.fixture
def vg(tmp_path):
    """Visual Genome files in the real format (image_data 1.2 uses image_id, 1.0 uses id)."""
    image_data = [
        {'image_id': 1, 'width': 50, 'height': 40, 'coco_id': None, 'flickr_id': None,
         'url': 'https://cs.stanford.edu/people/rak248/VG_100K_2/1.jpg'},
        {'id': 2, 'width': 20, 'height': 20,
         'url': 'https://cs.stanford.edu/people/rak248/VG_100K/2.jpg'}]
    regions = [
        {'id': 1, 'regions': [
            {'region_id': 10, 'image_id': 1, 'x': 5, 'y': 6, 'width': 10, 'height': 8,
             'phrase': 'a red  car '},
            {'region_id': 11, 'image_id': 1, 'x': 40, 'y': 30, 'width': 20, 'height': 20,
             'phrase': 'tree on the side'},
            {'region_id': 12, 'image_id': 1, 'x': 60, 'y': 0, 'width': 5, 'height': 5,
             'phrase': 'outside'},
            {'region_id': 13, 'image_id': 1, 'x': 1, 'y': 1, 'width': 5, 'height': 5,
             'phrase': '  '}]},
        {'id': 2, 'regions': []}]
    (tmp_path / 'image_data.json').write_text(json.dumps(image_data))
    (tmp_path / 'region_descriptions.json').write_text(json.dumps(regions))
    return tmp_path


def test_vg_regions_to_umg(vg, tmp_path, load_tool, capsys):
    out = tmp_path / 'vg.jsonl'
    load_tool('dataset_converters/vg2umg.py').main(
        [str(vg / 'region_descriptions.json'), str(vg / 'image_data.json'), str(out)])
    first, second = [json.loads(line) for line in out.read_text().splitlines()]
    assert first['image'] == {'file_name': 'VG_100K_2/1.jpg', 'height': 40, 'width': 50,
                              'id': 1}
    assert first['regions'] == [
        {'bbox': [5.0, 6.0, 15.0, 14.0], 'captions': ['a red car']},
        {'bbox': [40.0, 30.0, 50.0, 40.0], 'captions': ['tree on the side']}]  # clipped
    assert second['image']['file_name'] == 'VG_100K/2.jpg' and second['regions'] == []
    assert '2 images, 2 regions, 1 dropped_boxes, 1 dropped_phrases' in capsys.readouterr().out


def test_unknown_image_is_an_error(vg, tmp_path, load_tool):
    data = json.loads((vg / 'region_descriptions.json').read_text())
    data[1]['id'] = 99
    (vg / 'region_descriptions.json').write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r'entry 1 refers to image 99'):
        load_tool('dataset_converters/vg2umg.py').main(
            [str(vg / 'region_descriptions.json'), str(vg / 'image_data.json'),
             str(tmp_path / 'vg.jsonl')])
