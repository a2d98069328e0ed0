"""Writing output files so that an interrupted run never leaves a half-written file behind.

Each function writes to a temporary file in the destination folder, flushes it to the disk
(``fsync``) and then moves it over the destination with :func:`os.replace`, which is atomic on
POSIX file systems; the folder is synced too, so that the rename survives a power cut. A process
killed at any moment leaves either the old file or the new one, never a part of either.
"""
import glob
import json
import math
import os
import os.path as osp
from contextlib import contextmanager
from typing import Any


def fsync_folder(folder: str) -> None:
    """Flush a folder's entries (a rename or a removal in it) to the disk."""
    fd = os.open(folder or '.', os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_synced(tmp_path: str, path: str) -> None:
    """Sync the finished file ``tmp_path`` to the disk and rename it to ``path`` atomically."""
    with open(tmp_path, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(tmp_path, path)
    fsync_folder(osp.dirname(path))


def remove_stale_temporaries(path: str) -> list:
    """Remove the temporary files that writes of ``path`` killed before their rename left behind
    (``<path>.tmp<pid>``); return their paths."""
    stale = glob.glob(glob.escape(path) + '.tmp*')
    for tmp_path in stale:
        os.remove(tmp_path)
    return stale


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    Args:
        path (str): Destination file; its folder is created when missing.
        data (bytes): The whole content of the file.
    """
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp_path = f'{path}.tmp{os.getpid()}'
    try:
        with open(tmp_path, 'wb') as f:
            f.write(data)
        replace_synced(tmp_path, path)
    finally:
        if osp.exists(tmp_path):
            os.remove(tmp_path)


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`write_bytes_atomic`."""
    write_bytes_atomic(path, text.encode('utf-8'))


def dumps_json(obj: Any, indent: int = None) -> str:
    """Serialise ``obj`` the same way on every run (key order as built, no NaN, UTF-8 kept)."""
    separators = (',', ': ') if indent else (',', ':')
    return json.dumps(obj, indent=indent, separators=separators, ensure_ascii=False,
                      allow_nan=False)


def plain_metrics(metrics: dict) -> dict:
    """Metric values as JSON takes them: arrays as lists, NaN (a metric with no sample) as
    None."""
    def plain(value):
        value = value.tolist() if hasattr(value, 'tolist') else value
        return None if isinstance(value, float) and math.isnan(value) else value
    return {key: plain(value) for key, value in metrics.items()}


def write_json_atomic(path: str, obj: Any, indent: int = None) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (compact unless ``indent`` is given)."""
    write_text_atomic(path, dumps_json(obj, indent) + '\n')


def write_lines_atomic(path: str, lines) -> None:
    """Write one item per line (each followed by a newline) to ``path`` atomically."""
    write_text_atomic(path, ''.join(f'{line}\n' for line in lines))


@contextmanager
def atomic_open(path: str, mode: str = 'w'):
    """Open a temporary file for writing; it replaces ``path`` only if the block succeeds.

    Args:
        path (str): Destination file; its folder is created when missing.
        mode (str): ``'w'`` (UTF-8 text) or ``'wb'``.

    Yields:
        The open temporary file.
    """
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp_path = f'{path}.tmp{os.getpid()}'
    try:
        with open(tmp_path, mode, **({} if 'b' in mode else {'encoding': 'utf-8'})) as f:
            yield f
        replace_synced(tmp_path, path)
    finally:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
