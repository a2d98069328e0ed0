"""The engine end to end on tiny umg_mm models: records valid, provenance kept, counts per
stage, shards resumed, every output form readable by the validator's readers."""
import json
import os
import shutil

import pytest

from tests.test_data_engine.tiny_engine import engine_stages, tiny_model_files, write_images
from umg_mm.data_engine import DataEngine, list_items, summary_table
from umg_mm.datasets.umg_sources import (check_source_record, expand_shards, iter_folder_records,
                                         iter_index_records, iter_shard_records)


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    return tiny_model_files(tmp_path_factory.mktemp('models'))


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp('images')
    write_images(folder, 5, size=(48, 64))
    return str(folder)


def _engine(files, **kwargs):
    kwargs.setdefault('shard_size', 2)
    return DataEngine(engine_stages(files, kwargs.pop('filter_thr', -1.)), progress=False,
                      device='cpu', **kwargs)


def _valid_records(sources):
    records = []
    for src in sources:
        assert check_source_record(src, check_image=True) == []
        records.append(src.record)
    return records


@pytest.fixture(scope='module')
def folder_run(files, images, tmp_path_factory):
    out = tmp_path_factory.mktemp('out') / 'folder'
    summary = _engine(files).run(list_items(images), str(out), source=images)
    return out, summary


def test_records_are_valid_with_provenance(folder_run):
    out, summary = folder_run
    records = _valid_records(iter_folder_records(str(out / 'data')))
    assert sorted(r['image']['file_name'] for r in records) == [f'img{i}.png' for i in range(5)]
    assert summary['shards'] == 3 and summary['kept']['images'] == 5
    regions = [g for r in records for g in r.get('regions', [])]
    segments = [s for r in records for s in r.get('segments', [])]
    assert regions and segments, 'the untrained tiny model keeps every query'
    for region in regions:
        x1, y1, x2, y2 = region['bbox']
        assert 0 <= x1 < x2 <= 64 and 0 <= y1 < y2 <= 48
        assert region['extra']['stage'] == 'detect'
        assert region['extra']['model'] == 'panoptic.py@panoptic.pth'
        assert 0 <= region['extra']['score'] <= 1
        assert region['tags'][0] in ('circle', 'square', 'triangle')
        assert region['captions'][0].split()[-1] == region['tags'][0]  # layout: 'a small x'
        origins = region['extra']['provenance']
        assert [o['stage'] for o in origins['captions']] == ['caption']
        assert all('filter_score' in o for o in origins['tags'] + origins['captions'])
    for segment in segments:
        assert segment['segmentation']['size'] == [48, 64]
        assert segment['extra']['stage'] == 'segment'
        assert (segment['extra']['score'] is not None) == segment['isthing']
    for record in records:
        origins = record['extra']['provenance']
        assert len(record['tags']) == 3 and len(origins['tags']) == 3
        assert all(o['stage'] == 'tag' and o['model'] == 'pretrainer.py@pretrainer.pth'
                   for o in origins['tags'])
        assert [o['score'] for o in origins['tags']] == sorted(
            (o['score'] for o in origins['tags']), reverse=True)
        assert len(record['captions']) == len(origins['captions']) == 1


def test_counts_per_stage(folder_run):
    out, summary = folder_run
    stages = summary['stages']
    assert list(stages) == ['detect', 'segment', 'tag', 'caption', 'filter']
    assert all(counts['images'] == 5 for counts in stages.values())
    assert stages['detect']['regions_added'] == summary['kept']['regions']
    assert stages['segment']['segments_added'] == summary['kept']['segments']
    assert stages['tag']['texts_added'] == 15
    assert stages['filter']['texts_dropped'] == 0  # threshold -1 keeps everything
    added = sum(c['texts_added'] for c in stages.values())
    assert summary['kept']['texts'] == added
    with open(out / 'summary.json') as f:
        assert json.load(f)['kept'] == summary['kept']
    assert '| filter | 5 |' in summary_table(summary)


def test_filter_drops_texts_and_textless_objects(files, images, tmp_path):
    summary = _engine(files, filter_thr=1.5).run(list_items(images), str(tmp_path / 'o'))
    kept, filtered = summary['kept'], summary['stages']['filter']
    assert kept['regions'] == kept['segments'] == 0
    assert kept['texts'] == 15  # image tags are not filtered by default
    assert filtered['regions_dropped'] == summary['stages']['detect']['regions_added']
    assert filtered['texts_dropped'] > 0
    records = _valid_records(iter_folder_records(str(tmp_path / 'o' / 'data')))
    assert all('captions' not in r and 'regions' not in r for r in records)


def test_resume_redoes_only_unfinished_shards(files, images, folder_run, tmp_path, monkeypatch):
    out, summary = folder_run
    first = {p: (out / 'data' / p).read_bytes() for p in os.listdir(out / 'data')}
    copy = tmp_path / 'copy'
    shutil.copytree(out, copy)
    (copy / 'progress' / 'shard-000001.json').unlink()  # shard 1 'crashed'
    (copy / 'data' / 'img2.json').unlink()
    engine = _engine(files)
    seen = []
    original = type(engine.stages[0]).process
    monkeypatch.setattr(type(engine.stages[0]), 'process',
                        lambda self, batch: seen.extend(s.item.key for s in batch) or
                        original(self, batch))
    again = engine.run(list_items(images), str(copy), source=images)
    assert seen == ['img2', 'img3']
    assert again == summary
    # deterministic, nothing written twice
    assert {p: (copy / 'data' / p).read_bytes() for p in os.listdir(copy / 'data')} == first
    assert engine.run(list_items(images), str(copy), source=images) == summary
    assert seen == ['img2', 'img3']


def test_a_run_with_other_settings_is_refused(files, images, folder_run):
    out, _ = folder_run
    with pytest.raises(ValueError, match='other shard_size'):
        _engine(files, shard_size=3).run(list_items(images), str(out), source=images)


@pytest.mark.parametrize('fmt', ['jsonl', 'shards'])
def test_index_and_shard_outputs(files, images, tmp_path, fmt):
    out = tmp_path / fmt
    _engine(files, output_format=fmt, shard_size=3).run(list_items(images), str(out))
    if fmt == 'jsonl':
        records = _valid_records(iter_index_records(str(out / 'annotations.jsonl'),
                                                    img_root=images))
        assert sorted(os.listdir(out / 'parts')) == ['part-000000.jsonl', 'part-000001.jsonl']
    else:
        records = _valid_records(iter_shard_records(expand_shards(str(out / 'shards/*.tar'))))
    assert [r['image']['id'] for r in records] == [f'img{i}' for i in range(5)]
