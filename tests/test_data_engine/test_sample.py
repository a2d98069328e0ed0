"""umg_mm.data_engine.sample: reducing a written record to some classes."""
import copy

import numpy as np
from pycocotools import mask as mask_utils

from umg_mm.data_engine.sample import keep_classes
from umg_mm.datasets.schema import validate_record

_RLE = mask_utils.encode(np.asfortranarray(np.eye(4, dtype=np.uint8)))
SEGMENT = dict(size=_RLE['size'], counts=_RLE['counts'].decode())


def _origin(stage):
    return dict(stage=stage, model='m.py@m.pth', score=None)


def _record():
    """An engine record as written (its layout from work_dirs/engine7's annotations.jsonl)."""
    return dict(
        schema='umg/1', image=dict(file_name='a.jpg', height=4, width=4, id='a'),
        captions=['a small circle on the left, on sky'], tags=['circle', 'sky', 'grass'],
        regions=[dict(bbox=[0., 0., 2., 2.], tags=['circle'], captions=['a small circle'],
                      extra=dict(_origin('detect'), provenance={'tags': [_origin('detect')]}))],
        segments=[dict(segmentation=SEGMENT, isthing=True, tags=['circle']),
                  dict(segmentation=SEGMENT, isthing=False, tags=['sky'])],
        extra=dict(provenance={'captions': [_origin('caption')],
                               'tags': [_origin('tag'), _origin('tag2'), _origin('tag3')]}))


def test_keep_classes_keeps_their_segments_regions_and_tags_only():
    record = _record()
    before = copy.deepcopy(record)
    stuff = keep_classes(record, ['sky', 'grass', 'sand'])
    assert record == before  # the input is left as it was
    assert 'captions' not in stuff and 'regions' not in stuff
    assert stuff['tags'] == ['sky', 'grass']
    assert stuff['extra']['provenance'] == {'tags': [_origin('tag2'), _origin('tag3')]}
    assert [s['tags'] for s in stuff['segments']] == [['sky']]
    assert validate_record(stuff, 'stuff', 'a', (4, 4)) == []

    things = keep_classes(record, ['circle'])
    assert [r['tags'] for r in things['regions']] == [['circle']]
    assert [s['isthing'] for s in things['segments']] == [True] and things['tags'] == ['circle']


def test_keep_classes_returns_none_when_no_text_is_left():
    assert keep_classes(_record(), ['star']) is None
