"""The UMG annotation schema (``umg/1``, see ``docs/umg_schema.md``) and its record validator.

:func:`validate_record` checks one record (one image's annotations) and returns every problem it
finds as a :class:`Problem` naming the file, the record and the field path (``regions[3].bbox``).
It never raises on bad data: the dataset classes (which raise or skip) and
``tools/validate_umg.py`` (which reports) decide what to do with the problems.
"""
import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

SCHEMA_VERSION = 'umg/1'
SUPPORTED_VERSIONS = (SCHEMA_VERSION, )

#: Every kind of problem the validator reports, with what it means.
PROBLEM_KINDS = {
    'invalid_json': 'the file or line is not valid JSON, or not a JSON object',
    'invalid_utf8': 'a line of an index file is not valid UTF-8 (the other lines are checked)',
    'empty_input': 'a file, folder tree or shard holds no record at all',
    'duplicate_id': 'an image.id that an earlier record of the same PATH has too',
    'bad_schema_version': '"schema" is not a supported version',
    'missing_field': 'a required field is absent',
    'unknown_key': 'a key the schema does not define (put free-form data under "extra")',
    'wrong_type': 'a field has the wrong type',
    'empty_text': 'a caption or tag is an empty string',
    'missing_text': 'a region or segment has neither captions nor tags',
    'degenerate_box': 'a box with x2 <= x1 or y2 <= y1',
    'box_outside_image': 'a box reaches outside the image',
    'bad_mask': 'a malformed COCO RLE or polygon',
    'mask_size': 'a mask whose size differs from the image size',
    'missing_image': 'the image file (or shard member) does not exist',
    'unreadable_image': 'the image cannot be decoded',
    'image_size_mismatch': 'the decoded image size differs from image.height/width',
    'missing_annotation': 'a shard sample has an image but no .json',
    'unreadable_shard': 'a tar shard cannot be read',
}

_TOP_KEYS = {'schema', 'image', 'captions', 'tags', 'regions', 'segments', 'extra'}
_IMAGE_KEYS = {'file_name', 'height', 'width', 'id', 'extra'}
_REGION_KEYS = {'bbox', 'captions', 'tags', 'extra'}
_SEGMENT_KEYS = {'segmentation', 'captions', 'tags', 'isthing', 'extra'}
_RLE_KEYS = {'size', 'counts'}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a record.

    Attributes:
        kind (str): one of :data:`PROBLEM_KINDS`.
        file (str): the JSON file, index file or shard that holds the record.
        record (str): which record in that file (``'line 12'``, ``'key 000001'``, a record
            index), empty for a one-record file.
        field (str): the field path, e.g. ``'regions[3].bbox'``; empty for the whole record.
        message (str): what is wrong, with the bad value and the fix.
    """
    kind: str
    file: str
    record: str
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file + (f' [{self.record}]' if self.record else '')
        field = f' {self.field}:' if self.field else ''
        return f'{where}{field} {self.message} ({self.kind})'


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _type_name(value: Any) -> str:
    return type(value).__name__


def decode_rle_counts(counts: str) -> List[int]:
    """Decode the run lengths of a compressed COCO RLE string.

    The format (pycocotools' ``rleFrString``): each run length is written in 5-bit groups, least
    significant first, as characters ``chr(48 + group)``, bit 5 marking "more groups follow" and
    bit 4 of the last group the sign; from the third run on, a value is stored as the difference
    to the run two places before.

    Args:
        counts (str): the ``counts`` string of an RLE.

    Returns:
        list[int]: the run lengths (background first).

    Raises:
        ValueError: a character outside the alphabet, or the string ends in the middle of a run.
    """
    runs: List[int] = []
    pos = 0
    while pos < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(counts):
                raise ValueError('the string ends in the middle of a run length')
            group = ord(counts[pos]) - 48
            if not 0 <= group < 64:
                raise ValueError(f'character {counts[pos]!r} at position {pos} is not '
                                 'in the RLE alphabet (chr(48)..chr(111))')
            value |= (group & 0x1f) << shift
            more = bool(group & 0x20)
            pos += 1
            shift += 5
            if not more and group & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


class _RecordChecker:
    """Collects the problems of one record; ``file`` and ``record`` label every problem."""

    def __init__(self, file: str, record: str) -> None:
        self.file = file
        self.record = record
        self.problems: List[Problem] = []

    def add(self, kind: str, field: str, message: str) -> None:
        self.problems.append(Problem(kind, self.file, self.record, field, message))

    def keys(self, obj: dict, allowed: set, path: str) -> None:
        for key in obj:
            if key not in allowed:
                self.add('unknown_key', f'{path}.{key}' if path else str(key),
                         f'unknown key {key!r}; allowed: {sorted(allowed)} (free-form data '
                         'goes under "extra")')

    def texts(self, obj: dict, key: str, path: str) -> int:
        """Check an optional list of strings; return how many non-empty strings it holds."""
        if key not in obj:
            return 0
        value, field = obj[key], f'{path}.{key}' if path else key
        if not isinstance(value, list):
            self.add('wrong_type', field,
                     f'expected a list of strings, got {_type_name(value)} {value!r:.60}')
            return 0
        count = 0
        for i, text in enumerate(value):
            if not isinstance(text, str):
                self.add('wrong_type', f'{field}[{i}]',
                         f'expected a string, got {_type_name(text)} {text!r:.60}')
            elif not text.strip():
                self.add('empty_text', f'{field}[{i}]',
                         f'empty {key[:-1]} {text!r}; remove it or write the text')
            else:
                count += 1
        return count

    def object_list(self, record: dict, key: str) -> List[Tuple[int, dict]]:
        if key not in record:
            return []
        value = record[key]
        if not isinstance(value, list):
            self.add('wrong_type', key, f'expected a list of objects, got {_type_name(value)}')
            return []
        items = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                items.append((i, item))
            else:
                self.add('wrong_type', f'{key}[{i}]',
                         f'expected an object, got {_type_name(item)} {item!r:.60}')
        return items

    def image(self, record: dict) -> Optional[Tuple[int, int]]:
        """Check ``image``; return its declared ``(height, width)`` when both are valid."""
        if 'image' not in record:
            self.add('missing_field', 'image', 'required field "image" is missing')
            return None
        image = record['image']
        if not isinstance(image, dict):
            self.add('wrong_type', 'image', f'expected an object, got {_type_name(image)}')
            return None
        self.keys(image, _IMAGE_KEYS, 'image')
        if 'file_name' not in image:
            self.add('missing_field', 'image.file_name', 'required field is missing')
        elif not isinstance(image['file_name'], str) or not image['file_name']:
            self.add('wrong_type', 'image.file_name',
                     f'expected a non-empty string, got {image["file_name"]!r:.60}')
        if 'id' in image and not (isinstance(image['id'], str) or _is_int(image['id'])):
            self.add('wrong_type', 'image.id',
                     f'expected a string or an int, got {_type_name(image["id"])}')
        size = []
        for key in ('height', 'width'):
            if key not in image:
                self.add('missing_field', f'image.{key}', 'required field is missing')
            elif not _is_int(image[key]) or image[key] <= 0:
                self.add('wrong_type', f'image.{key}',
                         f'expected an int > 0, got {image[key]!r:.60}')
            else:
                size.append(image[key])
        return (size[0], size[1]) if len(size) == 2 else None

    def bbox(self, region: dict, path: str, size: Optional[Tuple[int, int]]) -> None:
        field = f'{path}.bbox'
        if 'bbox' not in region:
            self.add('missing_field', field, 'required field is missing')
            return
        box = region['bbox']
        if (not isinstance(box, list) or len(box) != 4
                or not all(_is_number(v) for v in box)):
            self.add('wrong_type', field,
                     f'expected [x1, y1, x2, y2] (4 finite numbers), got {box!r:.80}')
            return
        x1, y1, x2, y2 = box
        if x2 <= x1 or y2 <= y1:
            self.add('degenerate_box', field,
                     f'{box} has x2 <= x1 or y2 <= y1; boxes are absolute corners '
                     '[x1, y1, x2, y2], not COCO [x, y, w, h]')
        elif size is not None:
            height, width = size
            if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
                self.add('box_outside_image', field,
                         f'{box} reaches outside the {width}x{height} (width x height) image; '
                         f'clip it to 0 <= x <= {width}, 0 <= y <= {height}')

    def segmentation(self, segment: dict, path: str, size: Optional[Tuple[int, int]]) -> None:
        field = f'{path}.segmentation'
        if 'segmentation' not in segment:
            self.add('missing_field', field, 'required field is missing')
            return
        seg = segment['segmentation']
        if isinstance(seg, dict):
            self.rle(seg, field, size)
        elif isinstance(seg, list):
            self.polygons(seg, field, size)
        else:
            self.add('wrong_type', field, 'expected a COCO RLE {"size": [h, w], "counts": ...} '
                     f'or a list of polygons, got {_type_name(seg)}')

    def rle(self, rle: dict, field: str, size: Optional[Tuple[int, int]]) -> None:
        self.keys(rle, _RLE_KEYS, field)
        rle_size, counts = rle.get('size'), rle.get('counts')
        if (not isinstance(rle_size, list) or len(rle_size) != 2
                or not all(_is_int(v) and v > 0 for v in rle_size)):
            self.add('bad_mask', f'{field}.size',
                     f'expected [height, width] (two ints > 0), got {rle_size!r:.60}')
            return
        if isinstance(counts, str):
            try:
                runs = decode_rle_counts(counts)
            except ValueError as err:
                self.add('bad_mask', f'{field}.counts', f'malformed compressed RLE: {err}')
                return
        elif isinstance(counts, list) and all(_is_int(v) for v in counts):
            runs = counts
        else:
            self.add('bad_mask', f'{field}.counts', 'expected a compressed RLE string or a list '
                     f'of ints, got {_type_name(counts)}')
            return
        height, width = rle_size
        if any(r < 0 for r in runs) or sum(runs) != height * width:
            self.add('bad_mask', f'{field}.counts',
                     f'the run lengths sum to {sum(runs)} (or include a negative run) but the '
                     f'mask size {rle_size} has {height * width} pixels')
        if size is not None and tuple(rle_size) != tuple(size):
            self.add('mask_size', f'{field}.size',
                     f'mask size {rle_size} differs from the image size {list(size)} '
                     '([height, width]); encode the mask at the image size')

    def polygons(self, polygons: list, field: str, size: Optional[Tuple[int, int]]) -> None:
        if not polygons:
            self.add('bad_mask', field, 'an empty list of polygons; drop the segment')
        for j, poly in enumerate(polygons):
            pfield = f'{field}[{j}]'
            if (not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2
                    or not all(_is_number(v) for v in poly)):
                self.add('bad_mask', pfield, 'a polygon is a flat list [x1, y1, x2, y2, ...] of '
                         f'at least 3 points (an even count >= 6 of finite numbers), got '
                         f'{poly!r:.80}')
                continue
            if size is not None:
                height, width = size
                xs, ys = poly[0::2], poly[1::2]
                if min(xs) < 0 or min(ys) < 0 or max(xs) > width or max(ys) > height:
                    self.add('mask_size', pfield,
                             f'polygon points reach outside the {width}x{height} (width x height)'
                             ' image; clip them to the image')

    def level(self, record: dict, key: str, allowed: set,
              size: Optional[Tuple[int, int]]) -> None:
        for i, item in self.object_list(record, key):
            path = f'{key}[{i}]'
            self.keys(item, allowed, path)
            n_texts = self.texts(item, 'captions', path) + self.texts(item, 'tags', path)
            if n_texts == 0:
                self.add('missing_text', path,
                         'needs at least one non-empty caption or tag in "captions" or "tags"')
            if key == 'regions':
                self.bbox(item, path, size)
            else:
                self.segmentation(item, path, size)
                if 'isthing' not in item:
                    self.add('missing_field', f'{path}.isthing',
                             'required field is missing (true: thing, false: stuff)')
                elif not isinstance(item['isthing'], bool):
                    self.add('wrong_type', f'{path}.isthing',
                             f'expected true or false, got {item["isthing"]!r:.40}')


def validate_record(record: Any,
                    file: str = '',
                    record_id: str = '',
                    image_size: Optional[Sequence[int]] = None) -> List[Problem]:
    """Check one UMG record against the schema.

    Args:
        record: the parsed JSON value of one record.
        file (str): the file that holds it, copied into each problem.
        record_id (str): which record of that file (``'line 3'``, ``'key abc'``).
        image_size (tuple[int, int], optional): the real ``(height, width)`` of the decoded image
            when known; a difference with ``image.height/width`` is reported, and boxes and masks
            are then checked against the real size.

    Returns:
        list[Problem]: every problem found, empty for a valid record.
    """
    check = _RecordChecker(file, record_id)
    if not isinstance(record, dict):
        check.add('invalid_json', '', f'a record is a JSON object, got {_type_name(record)}')
        return check.problems
    check.keys(record, _TOP_KEYS, '')
    if 'schema' not in record:
        check.add('missing_field', 'schema', f'required field is missing; add '
                  f'"schema": "{SCHEMA_VERSION}"')
    elif record['schema'] not in SUPPORTED_VERSIONS:
        check.add('bad_schema_version', 'schema',
                  f'unsupported schema version {record["schema"]!r}; this reader knows '
                  f'{list(SUPPORTED_VERSIONS)}')
    size = check.image(record)
    if image_size is not None:
        real = (int(image_size[0]), int(image_size[1]))
        if size is not None and size != real:
            check.add('image_size_mismatch', 'image',
                      f'image.height/width say {size[0]}x{size[1]} but the image is '
                      f'{real[0]}x{real[1]} (height x width); fix the record or the image')
        size = real
    check.texts(record, 'captions', '')
    check.texts(record, 'tags', '')
    check.level(record, 'regions', _REGION_KEYS, size)
    check.level(record, 'segments', _SEGMENT_KEYS, size)
    return check.problems
