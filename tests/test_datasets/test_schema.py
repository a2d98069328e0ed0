import copy

import numpy as np
import pycocotools.mask as mask_util
import pytest

from tests.umg_fixtures import make_sample, rle_of
from umg_mm.datasets.schema import PROBLEM_KINDS, decode_rle_counts, validate_record


def _valid():
    return copy.deepcopy(make_sample(0, height=32, width=48)[0])


def _set(path, value):
    def mutate(record):
        *parents, last = path
        obj = record
        for key in parents:
            obj = obj[key]
        obj[last] = value
    return mutate


def _delete(path):
    def mutate(record):
        *parents, last = path
        obj = record
        for key in parents:
            obj = obj[key]
        del obj[last]
    return mutate


# (mutation, expected kind, expected field)
MALFORMED = {
    'box outside': (_set(['regions', 0, 'bbox'], [4, 4, 60, 12]), 'box_outside_image',
                    'regions[0].bbox'),
    'negative box corner': (_set(['regions', 1, 'bbox'], [-1, 4, 10, 12]), 'box_outside_image',
                            'regions[1].bbox'),
    'degenerate box': (_set(['regions', 0, 'bbox'], [10, 4, 10, 12]), 'degenerate_box',
                       'regions[0].bbox'),
    'xywh-looking box': (_set(['regions', 0, 'bbox'], [20, 4, 5, 8]), 'degenerate_box',
                         'regions[0].bbox'),
    'box of 3 numbers': (_set(['regions', 0, 'bbox'], [1, 2, 3]), 'wrong_type',
                         'regions[0].bbox'),
    'empty caption': (_set(['captions', 1], '  '), 'empty_text', 'captions[1]'),
    'empty region tag': (_set(['regions', 0, 'tags'], ['']), 'empty_text',
                         'regions[0].tags[0]'),
    'region without text': (_set(['regions', 1, 'tags'], []), 'missing_text', 'regions[1]'),
    'mask of wrong size': (_set(['segments', 0, 'segmentation'], rle_of(np.ones((16, 48)))),
                           'mask_size', 'segments[0].segmentation.size'),
    'polygon outside image': (_set(['segments', 1, 'segmentation'], [[0, 0, 60, 0, 30, 20]]),
                              'mask_size', 'segments[1].segmentation[0]'),
    'RLE bad character': (_set(['segments', 0, 'segmentation', 'counts'], 'ab~~'), 'bad_mask',
                          'segments[0].segmentation.counts'),
    'RLE truncated': (_set(['segments', 0, 'segmentation', 'counts'], 'o'), 'bad_mask',
                      'segments[0].segmentation.counts'),
    'RLE wrong total': (_set(['segments', 2, 'segmentation', 'counts'], [10, 5]), 'bad_mask',
                        'segments[2].segmentation.counts'),
    'RLE without size': (_delete(['segments', 0, 'segmentation', 'size']), 'bad_mask',
                         'segments[0].segmentation.size'),
    'odd polygon': (_set(['segments', 1, 'segmentation'], [[1, 2, 3, 4, 5, 6, 7]]), 'bad_mask',
                    'segments[1].segmentation[0]'),
    'two-point polygon': (_set(['segments', 1, 'segmentation'], [[1, 2, 3, 4]]), 'bad_mask',
                          'segments[1].segmentation[0]'),
    'empty polygon list': (_set(['segments', 1, 'segmentation'], []), 'bad_mask',
                           'segments[1].segmentation'),
    'segmentation string': (_set(['segments', 1, 'segmentation'], 'x'), 'wrong_type',
                            'segments[1].segmentation'),
    'unknown top key': (_set(['caption'], 'typo'), 'unknown_key', 'caption'),
    'unknown region key': (_set(['regions', 0, 'caption'], 'typo'), 'unknown_key',
                           'regions[0].caption'),
    'unknown image key': (_set(['image', 'path'], 'x'), 'unknown_key', 'image.path'),
    'height as string': (_set(['image', 'height'], '32'), 'wrong_type', 'image.height'),
    'width zero': (_set(['image', 'width'], 0), 'wrong_type', 'image.width'),
    'isthing as int': (_set(['segments', 2, 'isthing'], 0), 'wrong_type', 'segments[2].isthing'),
    'captions as string': (_set(['captions'], 'a cat'), 'wrong_type', 'captions'),
    'tag as number': (_set(['tags', 0], 3), 'wrong_type', 'tags[0]'),
    'regions as object': (_set(['regions'], {'bbox': [1, 2, 3, 4]}), 'wrong_type', 'regions'),
    'image id as list': (_set(['image', 'id'], [1]), 'wrong_type', 'image.id'),
    'missing schema': (_delete(['schema']), 'missing_field', 'schema'),
    'missing image': (_delete(['image']), 'missing_field', 'image'),
    'missing file_name': (_delete(['image', 'file_name']), 'missing_field', 'image.file_name'),
    'missing width': (_delete(['image', 'width']), 'missing_field', 'image.width'),
    'missing bbox': (_delete(['regions', 0, 'bbox']), 'missing_field', 'regions[0].bbox'),
    'missing segmentation': (_delete(['segments', 0, 'segmentation']), 'missing_field',
                             'segments[0].segmentation'),
    'missing isthing': (_delete(['segments', 1, 'isthing']), 'missing_field',
                        'segments[1].isthing'),
    'bad schema version': (_set(['schema'], 'umg/2'), 'bad_schema_version', 'schema'),
}


def test_valid_record_has_no_problem():
    assert validate_record(_valid(), 'a.json') == []
    assert validate_record(_valid(), 'a.json', image_size=(32, 48)) == []


def test_minimal_record_is_valid():
    record = {'schema': 'umg/1', 'image': {'file_name': 'x.jpg', 'height': 4, 'width': 5}}
    assert validate_record(record) == []
    record['extra'] = {'anything': [1, 2]}
    record['image']['extra'] = {'source': 'cc3m'}
    assert validate_record(record) == []


@pytest.mark.parametrize('name', sorted(MALFORMED))
def test_each_malformed_kind_is_reported_with_file_record_and_field(name):
    mutate, kind, field = MALFORMED[name]
    record = _valid()
    mutate(record)
    problems = validate_record(record, 'ann/0001.json', 'line 7')
    assert [(p.kind, p.field) for p in problems] == [(kind, field)], problems
    problem = problems[0]
    assert problem.file == 'ann/0001.json' and problem.record == 'line 7'
    assert kind in PROBLEM_KINDS
    text = str(problem)
    assert 'ann/0001.json' in text and 'line 7' in text and field in text and kind in text


def test_real_image_size_mismatch_and_boxes_checked_against_real_size():
    record = _valid()
    problems = validate_record(record, 'a.json', image_size=(10, 48))
    kinds = {(p.kind, p.field) for p in problems}
    assert ('image_size_mismatch', 'image') in kinds
    # the real image is 10 px high: the region at y 4..12 and the 32-px-high masks do not fit
    assert ('box_outside_image', 'regions[1].bbox') in kinds
    assert ('mask_size', 'segments[0].segmentation.size') in kinds


def test_not_an_object():
    problems = validate_record([1, 2], 'x.jsonl', 'line 2')
    assert [(p.kind, p.record) for p in problems] == [('invalid_json', 'line 2')]


def test_all_problems_of_a_record_are_reported():
    record = _valid()
    record['regions'][0]['bbox'] = [0, 0, 100, 10]
    record['captions'][0] = ''
    record['segments'][1]['isthing'] = 'yes'
    fields = sorted(p.field for p in validate_record(record))
    assert fields == ['captions[0]', 'regions[0].bbox', 'segments[1].isthing']


@pytest.mark.parametrize('seed', range(5))
def test_decode_rle_counts_matches_pycocotools(seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((23, 17)) < rng.random()
    rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    runs = decode_rle_counts(rle['counts'].decode())
    assert sum(runs) == 23 * 17
    flat = np.concatenate([np.full(r, i % 2, np.uint8) for i, r in enumerate(runs)])
    np.testing.assert_array_equal(flat.reshape(17, 23).T, mask)
