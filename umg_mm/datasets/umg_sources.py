"""Reading UMG records from their three storage forms (folder tree, index file, WebDataset shards).

Each reader yields :class:`SourceRecord` objects: the parsed record (or ``None`` when the JSON
cannot be parsed), where it came from, the problems found while parsing, and where its image is.
:func:`check_source_record` adds the schema check (and, optionally, the image check) on top, so that
``UMGDataset``, ``UMGWebDataset`` and ``tools/validate_umg.py`` apply the same rules.
"""
import glob
import io
import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

from PIL import Image

from .schema import Problem, validate_record

#: File extensions taken as the image of a WebDataset sample, in order of preference.
SHARD_IMAGE_EXTENSIONS = ('jpg', 'jpeg', 'png', 'webp', 'bmp')


@dataclass
class SourceRecord:
    """One record as read from storage, before any schema check.

    Attributes:
        file (str): the annotation file (per-image JSON, index file, or shard) that holds it.
        record_id (str): which record of the file: ``''`` (per-image JSON), ``'line N'`` (JSONL),
            ``'records[N]'`` (JSON index) or ``'key K'`` (shard sample).
        record (Any): the parsed JSON value; ``None`` when parsing failed.
        problems (list[Problem]): problems found while reading (invalid JSON, missing members).
        img_path (str): the image's path (folder and index forms) or ``'<shard>#<key>.<ext>'``.
        img_bytes (bytes, optional): the encoded image (shard form only).
        from_shard (bool): whether the record comes from a WebDataset shard.
    """
    file: str
    record_id: str
    record: Any
    problems: List[Problem] = field(default_factory=list)
    img_path: str = ''
    img_bytes: Optional[bytes] = None
    from_shard: bool = False


def _file_name(record: Any) -> Optional[str]:
    image = record.get('image') if isinstance(record, dict) else None
    name = image.get('file_name') if isinstance(image, dict) else None
    return name if isinstance(name, str) and name else None


def _invalid_json(file: str, record_id: str, err: Exception) -> Problem:
    return Problem('invalid_json', file, record_id, '', f'not valid JSON: {err}')


def read_record_file(path: str) -> SourceRecord:
    """Read one per-image JSON file (the folder form): its ``image.file_name`` is relative to
    the JSON's own folder."""
    try:
        with open(path, encoding='utf-8') as f:
            record = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        return SourceRecord(path, '', None, [_invalid_json(path, '', err)])
    file_name = _file_name(record)
    img_path = osp.join(osp.dirname(path), file_name) if file_name else ''
    return SourceRecord(path, '', record, img_path=img_path)


def iter_folder_records(root: str) -> Iterator[SourceRecord]:
    """Yield the records of a folder tree: every ``*.json`` under ``root`` (sorted), one record
    each (see :func:`read_record_file`).

    Args:
        root (str): the top folder.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'UMG folder tree {root!r} does not exist or is not a folder')
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith('.json'):
                yield read_record_file(osp.join(dirpath, name))


def iter_index_records(path: str, local_path: Optional[str] = None,
                       img_root: str = '') -> Iterator[SourceRecord]:
    """Yield the records of an index file.

    ``.jsonl``: one record per line (blank lines skipped, reported as ``'line N'``, from 1).
    ``.json``: an object ``{"schema": "umg/1", "records": [...]}`` (reported as ``'records[N]'``).

    Args:
        path (str): the index file's name, used in problems.
        local_path (str, optional): where to read it from when it is a local copy of a remote
            file (``mmengine.fileio.get_local_path``); defaults to ``path``.
        img_root (str): the folder that ``image.file_name`` is relative to.
    """
    local_path = local_path or path
    if path.endswith('.jsonl'):
        with open(local_path, encoding='utf-8') as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                record_id = f'line {line_no}'
                try:
                    record = json.loads(line)
                except ValueError as err:
                    yield SourceRecord(path, record_id, None,
                                       [_invalid_json(path, record_id, err)])
                    continue
                file_name = _file_name(record)
                yield SourceRecord(path, record_id, record,
                                   img_path=osp.join(img_root, file_name) if file_name else '')
        return
    if not path.endswith('.json'):
        raise ValueError(f'UMG index file {path!r} must end in .jsonl (one record per line) or '
                         '.json ({"schema": "umg/1", "records": [...]})')
    try:
        with open(local_path, encoding='utf-8') as f:
            index = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        yield SourceRecord(path, '', None, [_invalid_json(path, '', err)])
        return
    if not isinstance(index, dict) or not isinstance(index.get('records'), list):
        yield SourceRecord(path, '', None, [Problem(
            'wrong_type', path, '', 'records', 'a .json index file is an object '
            '{"schema": "umg/1", "records": [...]}; use .jsonl for one record per line')])
        return
    for i, record in enumerate(index['records']):
        file_name = _file_name(record)
        yield SourceRecord(path, f'records[{i}]', record,
                           img_path=osp.join(img_root, file_name) if file_name else '')


def expand_shards(shards: Union[str, Sequence[str]]) -> List[str]:
    """Expand shard patterns into a list of tar files.

    Args:
        shards (str | list[str]): a brace pattern (``data/shard-{0000..0099}.tar``, expanded by
            webdataset), a glob (``data/*.tar``, sorted), a path, or a list of these.

    Returns:
        list[str]: the shard paths (urls), in order.

    Raises:
        FileNotFoundError: a glob that matches nothing.
    """
    from webdataset.shardlists import expand_urls

    patterns = [shards] if isinstance(shards, str) else list(shards)
    urls: List[str] = []
    for pattern in patterns:
        for url in expand_urls(pattern):
            if glob.has_magic(url):
                matched = sorted(glob.glob(url))
                if not matched:
                    raise FileNotFoundError(f'shard pattern {url!r} matches no file')
                urls.extend(matched)
            else:
                urls.append(url)
    return urls


def shard_sample_to_record(sample: dict) -> SourceRecord:
    """Turn one WebDataset sample (``{'__key__', '__url__', 'json', 'jpg', ...}``, raw bytes) into a
    :class:`SourceRecord`."""
    url, key = sample.get('__url__', ''), sample['__key__']
    record_id = f'key {key}'
    ext = next((e for e in SHARD_IMAGE_EXTENSIONS if e in sample), None)
    img_path = f'{url}#{key}.{ext}' if ext else ''
    img_bytes = sample[ext] if ext else None
    if 'json' not in sample:
        return SourceRecord(url, record_id, None, [Problem(
            'missing_annotation', url, record_id, '',
            f'sample {key!r} has no {key}.json member; every image needs its annotation')],
            img_path, img_bytes, from_shard=True)
    try:
        record = json.loads(sample['json'])
    except (ValueError, UnicodeDecodeError) as err:
        return SourceRecord(url, record_id, None, [_invalid_json(url, record_id, err)], img_path,
                            img_bytes, from_shard=True)
    problems = [] if ext else [Problem(
        'missing_image', url, record_id, '', f'sample {key!r} has a .json but no image member '
        f'({", ".join("." + e for e in SHARD_IMAGE_EXTENSIONS)})')]
    return SourceRecord(url, record_id, record, problems, img_path, img_bytes, from_shard=True)


def iter_shard_records(urls: Sequence[str]) -> Iterator[SourceRecord]:
    """Yield the records of WebDataset shards, read with ``webdataset``.

    A shard that cannot be read yields one record holding an ``unreadable_shard`` problem.
    """
    import webdataset as wds

    for url in urls:
        errors: List[Exception] = []

        def keep_error(exn: Exception) -> bool:
            errors.append(exn)
            return False  # stop this shard

        for sample in wds.tarfile_samples([dict(url=url)], handler=keep_error):
            yield shard_sample_to_record(sample)
        for err in errors:
            yield SourceRecord(url, '', None, [Problem(
                'unreadable_shard', url, '', '', f'cannot read the shard: {err}')],
                from_shard=True)


def read_image_size(source: Union[str, bytes]) -> Tuple[int, int]:
    """Read an image's ``(height, width)`` from its header (the pixels are not decoded).

    Args:
        source (str | bytes): a path or the encoded bytes.

    Raises:
        FileNotFoundError: the path does not exist.
        OSError: the image cannot be identified.
    """
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
        width, height = img.size
    return height, width


def check_source_record(src: SourceRecord, check_image: bool = False) -> List[Problem]:
    """All problems of one stored record: reading, schema, and (optionally) its image.

    Args:
        src (SourceRecord): the record as read.
        check_image (bool): also open the image's header: report a missing or unreadable image
            and check ``image.height/width`` (and boxes and masks) against its real size.

    Returns:
        list[Problem]: every problem, empty when the record is valid.
    """
    if src.record is None:
        return list(src.problems)
    problems = list(src.problems)
    image_size = None
    if check_image:
        image_size, image_problem = _image_size_or_problem(src)
        if image_problem is not None:
            problems.append(image_problem)
    return problems + validate_record(src.record, src.file, src.record_id, image_size)


def _image_size_or_problem(
        src: SourceRecord) -> Tuple[Optional[Tuple[int, int]], Optional[Problem]]:
    source: Union[str, bytes]
    if src.from_shard:
        if src.img_bytes is None:
            return None, None  # reported when the sample was read
        source = src.img_bytes
    elif not src.img_path:
        return None, None  # no usable image.file_name: the schema check reports it
    elif not osp.isfile(src.img_path):
        return None, Problem('missing_image', src.file, src.record_id, 'image.file_name',
                             f'image {src.img_path!r} does not exist')
    else:
        source = src.img_path
    try:
        return read_image_size(source), None
    except OSError as err:
        return None, Problem('unreadable_image', src.file, src.record_id, 'image.file_name',
                             f'cannot read image {src.img_path!r}: {err}')
