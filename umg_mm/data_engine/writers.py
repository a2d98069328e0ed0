"""Writing one shard of finished records, atomically (temporary file + rename), in one of the
three UMG storage forms (docs/umg_schema.md)."""
import io
import os.path as osp
import tarfile
from typing import List, Sequence

from umg_mm.utils.atomic_io import atomic_open, dumps_json, write_bytes_atomic, write_json_atomic
from .sources import ImageItem

FORMATS = ('folder', 'jsonl', 'shards')


class RecordWriter:
    """Writes the records of a shard to ``out_dir``; subclasses choose the form.

    Args:
        out_dir: the output folder.
    """

    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    def write(self, index: int, items: Sequence[ImageItem], records: Sequence[dict]) -> List[str]:
        """Write shard ``index``; return the files written (relative to ``out_dir``)."""
        raise NotImplementedError

    def finish(self, shard_files: Sequence[Sequence[str]]) -> List[str]:
        """Called once every shard is written (``shard_files``: each shard's files, in order);
        returns the files it wrote."""
        return []


class FolderWriter(RecordWriter):
    """The folder form: each image copied to ``<out_dir>/data/<key>.<ext>`` with
    ``<key>.json`` beside it (``image.file_name`` = the image's base name)."""

    def write(self, index, items, records):
        files = []
        for item, record in zip(items, records):
            ext = osp.splitext(item.file_name)[1]
            image, annotation = f'data/{item.key}{ext}', f'data/{item.key}.json'
            write_bytes_atomic(osp.join(self.out_dir, image), item.read_bytes())
            record = dict(record, image=dict(record['image'], file_name=osp.basename(image)))
            write_json_atomic(osp.join(self.out_dir, annotation), record)
            files += [image, annotation]
        return files


class JsonlWriter(RecordWriter):
    """The index form: ``<out_dir>/parts/part-<index>.jsonl`` per shard (``image.file_name``
    relative to the input's image root), and ``<out_dir>/annotations.jsonl`` joining the parts
    once every shard is done."""

    def write(self, index, items, records):
        name = f'parts/part-{index:06d}.jsonl'
        with atomic_open(osp.join(self.out_dir, name)) as f:
            for record in records:
                f.write(dumps_json(record) + '\n')
        return [name]

    def finish(self, shard_files):
        with atomic_open(osp.join(self.out_dir, 'annotations.jsonl')) as out:
            for files in shard_files:
                for name in files:
                    with open(osp.join(self.out_dir, name), encoding='utf-8') as f:
                        out.write(f.read())
        return ['annotations.jsonl']


class ShardWriter(RecordWriter):
    """The WebDataset form: ``<out_dir>/shards/pseudo-<index>.tar`` per shard, each sample the
    image (``<key>.<ext>``) and its record (``<key>.json``)."""

    def write(self, index, items, records):
        name = f'shards/pseudo-{index:06d}.tar'
        with atomic_open(osp.join(self.out_dir, name), 'wb') as f:
            with tarfile.open(fileobj=f, mode='w') as tar:
                for item, record in zip(items, records):
                    key = item.key.replace('.', '_')  # webdataset splits keys at dots
                    ext = osp.splitext(item.file_name)[1].lower()
                    for member, data in ((f'{key}{ext}', item.read_bytes()),
                                         (f'{key}.json', dumps_json(record).encode('utf-8'))):
                        info = tarfile.TarInfo(member)
                        info.size = len(data)
                        tar.addfile(info, io.BytesIO(data))
        return [name]


def build_writer(fmt: str, out_dir: str) -> RecordWriter:
    """The writer of output form ``fmt`` (one of :data:`FORMATS`)."""
    writers = dict(folder=FolderWriter, jsonl=JsonlWriter, shards=ShardWriter)
    if fmt not in writers:
        raise ValueError(f'output format {fmt!r} is unknown; choose one of {list(FORMATS)}')
    return writers[fmt](out_dir)
