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
import re
import tarfile
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


def empty_input(file: str, message: str) -> SourceRecord:
    """The stand-in record of an input that holds no record at all (an ``empty_input``)."""
    return SourceRecord(file, '', None, [Problem('empty_input', file, '', '', message)])


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
    num_records = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith('.json'):
                num_records += 1
                yield read_record_file(osp.join(dirpath, name))
    if not num_records:
        yield empty_input(root, 'holds no record (no *.json file in the tree)')


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
        num_records = 0
        with open(local_path, 'rb') as f:
            for line_no, raw in enumerate(f, start=1):
                record_id = f'line {line_no}'
                try:
                    line = raw.decode('utf-8')
                except UnicodeDecodeError as err:
                    num_records += 1
                    yield SourceRecord(path, record_id, None, [Problem(
                        'invalid_utf8', path, record_id, '', f'byte {err.start} of the line '
                        f'({raw[err.start:err.start + 1]!r}) is not UTF-8 ({err.reason}); save '
                        f'the file as UTF-8')])
                    continue
                if not line.strip():
                    continue
                num_records += 1
                try:
                    record = json.loads(line)
                except ValueError as err:
                    yield SourceRecord(path, record_id, None,
                                       [_invalid_json(path, record_id, err)])
                    continue
                file_name = _file_name(record)
                yield SourceRecord(path, record_id, record,
                                   img_path=osp.join(img_root, file_name) if file_name else '')
        if not num_records:
            yield empty_input(path, 'holds no record (no non-blank line)')
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
    if not index['records']:
        yield empty_input(path, 'holds no record ("records" is empty)')
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


class ShardError(ValueError):
    """A shard that cannot be read to its end.

    Attributes:
        url (str): the shard.
        where (str): where reading failed: ``"member 'k.jpg'"`` (its data), ``"the header after
            member 'k.json'"``, or ``'its first member'``.
        num_read (int): the complete samples read from it before the failure.
        num_lost (int): the samples begun but not complete at the failure (0 or 1); the rest of
            the shard past the failure cannot be read at all.
    """

    def __init__(self, url: str, where: str, num_read: int, num_lost: int,
                 cause: Exception) -> None:
        self.url, self.where, self.num_read, self.num_lost = url, where, num_read, num_lost
        super().__init__(f'shard {url} cannot be read at {where} ({type(cause).__name__}: '
                         f'{cause}) after {num_read} complete sample(s); {num_lost} incomplete '
                         f'sample(s) lost and the rest of the shard unreadable')


def iter_shard_samples(url: str) -> Iterator[dict]:
    """Yield the samples of one WebDataset shard, as ``webdataset`` groups them
    (``{'__key__', '__url__', '<ext>': bytes, ...}``: members sharing a key are one sample).

    Raises:
        ShardError: the shard cannot be opened or read to its end (truncated, corrupt), naming
            the member, the samples read and those lost. Samples read before it were yielded.
    """
    from webdataset.gopen import gopen
    from webdataset.tariterators import base_plus_ext

    where, sample, num_read = 'its first member', None, 0
    try:
        with gopen(url) as stream, tarfile.open(fileobj=stream, mode='r|*') as tar:
            for info in tar:
                where = f'member {info.name!r}'
                key, ext = base_plus_ext(info.name)
                if not info.isreg() or key is None or re.match(r'__[^/]*__($|/)', info.name):
                    continue
                if sample is not None and sample['__key__'] != key:
                    num_read += 1
                    yield sample  # members of a sample are contiguous: this one is complete
                    sample = None
                if sample is None:
                    sample = {'__key__': key, '__url__': url}
                if ext.lower() in sample:
                    raise ValueError(f'{info.name} repeats a member of sample {key!r}')
                sample[ext.lower()] = tar.extractfile(info).read()
                where = f'the header after member {info.name!r}'
    except Exception as err:  # noqa: BLE001  (tarfile, gzip and pipe errors alike)
        raise ShardError(url, where, num_read, int(sample is not None), err) from err
    if sample is not None:
        yield sample


def iter_shard_records(urls: Sequence[str]) -> Iterator[SourceRecord]:
    """Yield the records of WebDataset shards.

    A shard that cannot be read to its end yields the records read before the failure, then one
    record holding an ``unreadable_shard`` problem; a shard without samples an ``empty_input``.
    """
    for url in urls:
        num_samples = 0
        try:
            for sample in iter_shard_samples(url):
                num_samples += 1
                yield shard_sample_to_record(sample)
        except ShardError as err:
            yield SourceRecord(url, err.where, None, [Problem('unreadable_shard', url, err.where,
                                                              '', str(err))], from_shard=True)
            continue
        if not num_samples:
            yield empty_input(url, 'holds no sample')


def _exif_transposed(img: Image.Image) -> bool:
    """Whether the image's EXIF orientation swaps its width and height (orientations 5-8)."""
    return img.getexif().get(0x0112, 1) in (5, 6, 7, 8)


def read_image_size(source: Union[str, bytes], decode: Optional[dict] = None,
                    ) -> Tuple[int, int]:
    """The ``(height, width)`` of an image as the loader sees it.

    Without ``decode``, from the header alone, with the EXIF orientation applied (as
    ``mmcv.imfrombytes`` applies it for ``flag='color'``). With ``decode``, every pixel is decoded:
    first strictly by Pillow (a truncated or corrupt file fails, where OpenCV would fill the
    missing part with grey and only warn), then by ``mmcv.imfrombytes(**decode)`` as
    ``LoadUMGImage`` decodes it (its ``flag``/``backend``), whose shape is returned.

    Args:
        source (str | bytes): a path or the encoded bytes.
        decode (dict, optional): ``mmcv.imfrombytes`` arguments (``flag``, ``backend``), or
            None to read the header only.

    Raises:
        FileNotFoundError: the path does not exist.
        OSError: the image cannot be identified or decoded.
    """
    if decode is None:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            width, height = img.size
            return (width, height) if _exif_transposed(img) else (height, width)
    import mmcv

    if not isinstance(source, bytes):
        with open(source, 'rb') as f:
            source = f.read()
    with Image.open(io.BytesIO(source)) as img:
        img.load()
    decoded = mmcv.imfrombytes(source, **decode)
    if decoded is None:
        raise OSError(f'mmcv.imfrombytes({decode}) cannot decode it')
    return tuple(decoded.shape[:2])


def check_source_record(src: SourceRecord, check_image: bool = False,
                        decode: Optional[dict] = None) -> List[Problem]:
    """All problems of one stored record: reading, schema, and (optionally) its image.

    Args:
        src (SourceRecord): the record as read.
        check_image (bool): also open the image: report a missing or unreadable image and check
            ``image.height/width`` (and boxes and masks) against its size as the loader sees it.
        decode (dict, optional): with ``check_image``, decode the whole image with these
            ``mmcv.imfrombytes`` arguments (see :func:`read_image_size`); None reads the header.

    Returns:
        list[Problem]: every problem, empty when the record is valid.
    """
    if src.record is None:
        return list(src.problems)
    problems = list(src.problems)
    image_size = None
    if check_image:
        image_size, image_problem = _image_size_or_problem(src, decode)
        if image_problem is not None:
            problems.append(image_problem)
    return problems + validate_record(src.record, src.file, src.record_id, image_size)


def _image_size_or_problem(
        src: SourceRecord,
        decode: Optional[dict]) -> Tuple[Optional[Tuple[int, int]], Optional[Problem]]:
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
        return read_image_size(source, decode), None
    except OSError as err:
        return None, Problem('unreadable_image', src.file, src.record_id, 'image.file_name',
                             f'cannot read image {src.img_path!r}: {err}')
