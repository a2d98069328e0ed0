import json
import os.path as osp

import cv2
import numpy as np
import pytest

from tests.umg_fixtures import make_samples, write_folder_tree, write_index, write_shards
from umg_mm.registry import DATASETS

PIPELINE = [dict(type='LoadUMGImage'), dict(type='LoadUMGAnnotations', caption_sampling='first'),
            dict(type='PackUMGInputs')]


def _comparable(data_info):
    keys = ('img_id', 'height', 'width', 'captions', 'tags', 'regions', 'segments')
    return {k: data_info[k] for k in keys}


def test_folder_tree_index_and_shards_load_the_same_records(tmp_path):
    samples = make_samples(5)
    write_folder_tree(str(tmp_path / 'tree'), samples)
    write_index(str(tmp_path / 'train.jsonl'), str(tmp_path / 'images'), samples)
    write_index(str(tmp_path / 'train.json'), str(tmp_path / 'images'), samples)
    write_shards(str(tmp_path / 'shards'), samples, num_shards=2)

    tree = DATASETS.build(dict(type='UMGDataset', data_root=str(tmp_path / 'tree'),
                               pipeline=PIPELINE))
    jsonl = DATASETS.build(dict(type='UMGDataset', data_root=str(tmp_path),
                                ann_file='train.jsonl', data_prefix=dict(img='images'),
                                pipeline=PIPELINE))
    json_index = DATASETS.build(dict(type='UMGDataset', data_root=str(tmp_path),
                                     ann_file='train.json', data_prefix=dict(img='images'),
                                     pipeline=PIPELINE))
    shards = DATASETS.build(dict(type='UMGWebDataset', shards=str(tmp_path / 'shards/*.tar'),
                                 pipeline=[], shuffle_shards=False))

    by_id = {}
    for name, infos in [('tree', [tree.get_data_info(i) for i in range(len(tree))]),
                        ('jsonl', [jsonl.get_data_info(i) for i in range(len(jsonl))]),
                        ('json', [json_index.get_data_info(i) for i in range(len(json_index))]),
                        ('shards', list(shards))]:
        by_id[name] = {info['img_id']: _comparable(info) for info in infos}
    assert len(by_id['tree']) == 5
    for name in ('jsonl', 'json', 'shards'):
        assert by_id[name] == by_id['tree'], name

    # the packed samples agree too: same image pixels, boxes and texts
    packed_tree = {tree[i]['data_samples'].img_id: tree[i] for i in range(5)}
    packed_jsonl = {jsonl[i]['data_samples'].img_id: jsonl[i] for i in range(5)}
    for img_id, item in packed_tree.items():
        other = packed_jsonl[img_id]
        assert (item['inputs'] == other['inputs']).all()
        np.testing.assert_allclose(item['data_samples'].gt_instances.bboxes,
                                   other['data_samples'].gt_instances.bboxes)
        assert item['data_samples'].gt_instances.texts == other['data_samples'].gt_instances.texts


def test_folder_paths_are_relative_to_the_json(tmp_path):
    samples = make_samples(2)
    write_folder_tree(str(tmp_path), samples)
    ds = DATASETS.build(dict(type='UMGDataset', data_root=str(tmp_path), pipeline=PIPELINE))
    infos = sorted((ds.get_data_info(i) for i in range(len(ds))), key=lambda d: d['img_id'])
    assert infos[0]['img_path'] == str(tmp_path / 'part0' / 'img_0000.png')
    assert infos[1]['img_path'] == str(tmp_path / 'part1' / 'img_0001.png')
    assert ds[0]['inputs'].shape == (3, 32, 48)


def _tree_with_bad_record(tmp_path):
    samples = make_samples(4)
    samples[2][0]['regions'][1]['bbox'] = [40, 8, 60, 20]
    samples[3][0]['segments'][0]['isthing'] = 'yes'
    write_folder_tree(str(tmp_path), samples)
    return tmp_path


def test_invalid_record_raises_before_training_naming_file_and_field(tmp_path):
    _tree_with_bad_record(tmp_path)
    ds = DATASETS.build(dict(type='UMGDataset', data_root=str(tmp_path), pipeline=PIPELINE,
                             lazy_init=True))
    with pytest.raises(ValueError) as err:
        ds.full_init()
    message = str(err.value)
    assert '2 invalid UMG record(s)' in message
    assert osp.join('part0', 'img_0002.json') in message and 'regions[1].bbox' in message
    assert osp.join('part1', 'img_0003.json') in message and 'segments[0].isthing' in message
    assert 'skip_invalid=True' in message and 'validate_umg.py' in message


def test_skip_invalid_skips_counts_and_logs_each_once(tmp_path, monkeypatch):
    _tree_with_bad_record(tmp_path)
    logged = []
    for module in ('invalid_records', 'umg_dataset'):
        monkeypatch.setattr(f'umg_mm.datasets.{module}.print_log',
                            lambda msg, **kwargs: logged.append(msg))
    ds = DATASETS.build(dict(type='UMGDataset', data_root=str(tmp_path), pipeline=PIPELINE,
                             skip_invalid=True))
    assert len(ds) == 2 and ds.num_skipped == 2
    assert sorted(ds.get_data_info(i)['img_id'] for i in range(2)) == ['img_0000', 'img_0001']
    text = '\n'.join(logged)
    assert text.count('img_0002.json') == 1 and text.count('img_0003.json') == 1
    assert 'regions[1].bbox' in text and 'segments[0].isthing' in text
    assert 'skipped 2 invalid record(s) of 4' in text


def test_invalid_json_line_is_named(tmp_path):
    write_index(str(tmp_path / 'train.jsonl'), str(tmp_path), make_samples(2))
    with open(tmp_path / 'train.jsonl', 'a') as f:
        f.write('{"schema": "umg/1", \n')
    with pytest.raises(ValueError, match=r'train.jsonl \[line 3\].*invalid_json'):
        DATASETS.build(dict(type='UMGDataset', ann_file=str(tmp_path / 'train.jsonl'),
                            data_prefix=dict(img=str(tmp_path))))


def test_check_images_catches_size_mismatch_and_missing_image(tmp_path):
    samples = make_samples(3)
    write_folder_tree(str(tmp_path), samples)
    cv2.imwrite(str(tmp_path / 'part1' / 'img_0001.png'), np.zeros((20, 48, 3), np.uint8))
    (tmp_path / 'part0' / 'img_0002.png').unlink()
    # without check_images, the records themselves are valid
    assert len(DATASETS.build(dict(type='UMGDataset', data_root=str(tmp_path)))) == 3
    with pytest.raises(ValueError) as err:
        DATASETS.build(dict(type='UMGDataset', data_root=str(tmp_path), check_images=True))
    assert 'img_0001.json image: image.height/width say 32x48 but the image is 20x48' in str(
        err.value)
    assert 'img_0002.png' in str(err.value) and 'missing_image' in str(err.value)


def test_size_mismatch_is_caught_when_loading_without_check_images(tmp_path):
    samples = make_samples(1)
    write_folder_tree(str(tmp_path), samples)
    cv2.imwrite(str(tmp_path / 'part0' / 'img_0000.png'), np.zeros((20, 48, 3), np.uint8))
    ds = DATASETS.build(dict(type='UMGDataset', data_root=str(tmp_path), pipeline=PIPELINE,
                             test_mode=True))
    with pytest.raises(ValueError, match=r'img_0000.json image: .*32x48 but .* is 20x48'):
        ds[0]


def test_index_json_must_hold_records(tmp_path):
    with open(tmp_path / 'bad.json', 'w') as f:
        json.dump([{'schema': 'umg/1'}], f)
    with pytest.raises(ValueError, match=r'bad.json.*records'):
        DATASETS.build(dict(type='UMGDataset', ann_file=str(tmp_path / 'bad.json')))


def test_empty_index_file_is_an_error_naming_it(tmp_path):
    (tmp_path / 'train.jsonl').write_text('\n')
    with pytest.raises(ValueError, match=r'train.jsonl holds no record.*\(empty_input\)'):
        DATASETS.build(dict(type='UMGDataset', ann_file=str(tmp_path / 'train.jsonl'),
                            data_prefix=dict(img=str(tmp_path))))
    with pytest.raises(ValueError, match=r'train.jsonl holds no valid record'):
        DATASETS.build(dict(type='UMGDataset', ann_file=str(tmp_path / 'train.jsonl'),
                            data_prefix=dict(img=str(tmp_path)), skip_invalid=True))


def test_invalid_utf8_names_file_and_line(tmp_path):
    index = write_index(str(tmp_path / 'train.jsonl'), str(tmp_path), make_samples(3))
    lines = open(index, 'rb').read().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'white', b'wh\xe9te')  # Latin-1, not UTF-8
    open(index, 'wb').write(b''.join(lines))
    with pytest.raises(ValueError, match=r'train.jsonl \[line 2\] byte \d+ of the line '
                       r"\(b'\\xe9'\) is not UTF-8.*\(invalid_utf8\)"):
        DATASETS.build(dict(type='UMGDataset', ann_file=index,
                            data_prefix=dict(img=str(tmp_path))))
    ds = DATASETS.build(dict(type='UMGDataset', ann_file=index, skip_invalid=True,
                             data_prefix=dict(img=str(tmp_path))))
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == ['img_0000', 'img_0002']
