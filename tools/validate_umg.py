"""Check UMG-schema data (``umg/1``) and report every problem with its file, record and field.

    python tools/validate_umg.py data/umg_tree/                  # folder tree: JSON beside images
    python tools/validate_umg.py data/train.jsonl --img-root data/images   # index file
    python tools/validate_umg.py 'data/shards/umg-{0000..0099}.tar'        # WebDataset shards
    python tools/validate_umg.py 'data/shards/*.tar' --max-report 20 --headers-only

Every image is decoded as ``LoadUMGImage`` decodes it (``mmcv.imfrombytes`` with
``--imdecode-backend`` and ``--color-type``, EXIF orientation applied), after a strict decode that
catches truncated files; ``--headers-only`` reads the headers alone (faster), ``--no-image-check``
opens no image. One run lists every problem (bad lines of a file do not stop the others).

Exit status: 0 when everything is valid, 1 when any problem was found, 2 for unusable arguments
(a path that does not exist, an unreadable input). Problem kinds: see
``umg_mm.datasets.schema.PROBLEM_KINDS`` and ``docs/umg_data.md``.
"""
import argparse
import glob
import os
import os.path as osp
import sys
from collections import Counter
from typing import Iterator, List, Optional

from mmengine.utils import ProgressBar

from umg_mm.datasets.schema import PROBLEM_KINDS, Problem
from umg_mm.datasets.umg_sources import (SourceRecord, check_source_record, expand_shards,
                                         iter_folder_records, iter_index_records,
                                         iter_shard_records, read_record_file)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check UMG-schema data (folder trees, index files, WebDataset shards).')
    parser.add_argument('paths', nargs='+', metavar='PATH',
                        help='a folder tree of per-image JSON files, an index file (.jsonl, or '
                        '.json with "records"), a per-image .json, or shards (.tar, glob or '
                        "brace pattern such as 'umg-{0000..0099}.tar')")
    parser.add_argument('--img-root', default=None,
                        help='folder that index-file image names are relative to (default: '
                        "the index file's folder)")
    parser.add_argument('--max-report', type=int, default=100,
                        help='print at most this many problems (0: all); the summary always '
                        'counts all of them (default: 100)')
    images = parser.add_mutually_exclusive_group()
    images.add_argument('--no-image-check', action='store_true',
                        help='do not open images (faster; misses missing, unreadable or '
                        'wrongly sized images)')
    images.add_argument('--headers-only', action='store_true',
                        help='read image headers only, not every pixel (faster; misses '
                        'truncated or corrupt image data)')
    parser.add_argument('--imdecode-backend', default='cv2',
                        choices=['cv2', 'pillow', 'turbojpeg', 'tifffile'],
                        help="the pipeline's LoadUMGImage imdecode_backend (default: cv2)")
    parser.add_argument('--color-type', default='color',
                        help="the pipeline's LoadUMGImage color_type (default: color)")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument('--progress', dest='progress', action='store_true', default=None,
                          help='show a progress bar on stderr (a counter for shards and .json '
                          'indexes, whose size is unknown in advance; default: when stderr is a '
                          'terminal)')
    progress.add_argument('--no-progress', dest='progress', action='store_false')
    args = parser.parse_intermixed_args(argv)
    if args.max_report < 0:
        parser.error(f'--max-report must be >= 0, got {args.max_report}')
    return args


def _is_shard_spec(path: str) -> bool:
    return path.endswith('.tar') or glob.has_magic(path) or '{' in path or '::' in path


def iter_path_records(path: str, img_root: Optional[str] = None) -> Iterator[SourceRecord]:
    """Yield the stored records of one command-line PATH (any storage form)."""
    if osp.isdir(path):
        yield from iter_folder_records(path)
    elif path.endswith('.jsonl'):
        yield from iter_index_records(path, img_root=img_root or osp.dirname(path))
    elif path.endswith('.json'):
        src = read_record_file(path)
        if isinstance(src.record, dict) and 'records' in src.record:
            yield from iter_index_records(path, img_root=img_root or osp.dirname(path))
        else:
            yield src
    elif _is_shard_spec(path):
        yield from iter_shard_records(expand_shards(path))
    else:
        raise FileNotFoundError(f'{path!r} is neither a folder, an index file (.jsonl/.json) nor '
                                'shards (.tar, glob, brace pattern)')


def _duplicate_id(src: SourceRecord, ids: dict) -> List[Problem]:
    """A ``duplicate_id`` problem when the record's ``image.id`` was seen before (recorded in
    ``ids``: id -> ``'file [record]'``)."""
    image = src.record.get('image') if isinstance(src.record, dict) else None
    image_id = image.get('id') if isinstance(image, dict) else None
    if not isinstance(image_id, (str, int)) or isinstance(image_id, bool):
        return []
    where = src.file + (f' [{src.record_id}]' if src.record_id else '')
    first = ids.setdefault(image_id, where)
    if first == where:
        return []
    return [Problem('duplicate_id', src.file, src.record_id, 'image.id',
                    f'image.id {image_id!r} is also the id of {first}; ids must be unique')]


def count_records(paths: List[str]) -> int:
    """How many records the PATHs hold when that is cheap to know (folder trees and .jsonl files:
    a bar with a total), else 0 (a counter)."""
    total = 0
    for path in paths:
        if osp.isdir(path):
            total += sum(name.endswith('.json') for _, _, names in os.walk(path) for name in names)
        elif path.endswith('.jsonl') and osp.isfile(path):
            with open(path, 'rb') as f:
                total += sum(1 for line in f if line.strip())
        else:
            return 0
    return total


def main(argv=None) -> int:
    args = parse_args(argv)
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    bar = ProgressBar(count_records(args.paths), file=sys.stderr) if show_progress else None
    num_shown = 0

    decode = None if args.headers_only else dict(flag=args.color_type,
                                                    backend=args.imdecode_backend)
    kinds: Counter = Counter()
    bad_records = set()
    num_records, num_reported = 0, 0
    for path in args.paths:
        if not (osp.exists(path) or _is_shard_spec(path)):
            print(f'error: {path!r} does not exist', file=sys.stderr)
            return 2
        ids = {}  # image.id -> where it was first seen in this PATH (PATHs may be other splits)
        try:
            sources = iter_path_records(path, args.img_root)
            for src in sources:
                num_records += not any(p.kind in ('unreadable_shard', 'empty_input')
                                       for p in src.problems)
                problems = check_source_record(src, check_image=not args.no_image_check,
                                               decode=decode) + _duplicate_id(src, ids)
                for problem in problems:
                    kinds[problem.kind] += 1
                    bad_records.add((problem.file, problem.record))
                    if args.max_report == 0 or num_reported < args.max_report:
                        print(problem)
                        num_reported += 1
                if bar is not None and num_records - num_shown >= 100:
                    bar.update(num_records - num_shown)
                    num_shown = num_records
        except (FileNotFoundError, ValueError) as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
    if bar is not None:
        bar.update(num_records - num_shown)
        sys.stderr.write('\n')

    total = sum(kinds.values())
    if total > num_reported:
        print(f'... {total - num_reported} more problem(s) not shown (--max-report '
              f'{args.max_report})')
    print(f'checked {num_records} record(s): {total} problem(s) in {len(bad_records)} '
          'record(s)' + ('' if total else ', all valid'))
    for kind, count in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f'  {kind:<22} {count:>8}  {PROBLEM_KINDS[kind]}')
    return 1 if total else 0


if __name__ == '__main__':
    sys.exit(main())
