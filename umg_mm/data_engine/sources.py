"""The raw images the engine annotates: a folder tree, an index file or WebDataset shards.

Every form gives the same :class:`ImageItem` list, in a stable order (so that a re-run cuts the
same shards): a folder's images sorted by path, an index file's lines in order, shards' members
in order.
"""
import json
import os
import os.path as osp
import tarfile
from dataclasses import dataclass
from typing import List, Optional

import mmcv
import numpy as np

from umg_mm.apis.image_inputs import IMAGE_EXTENSIONS
from umg_mm.datasets.umg_sources import expand_shards


@dataclass(frozen=True)
class ImageItem:
    """One image to annotate.

    Attributes:
        key (str): unique within the input: the path relative to the input without extension
            (folder, index) or the sample key (shards); names the output record.
        file_name (str): ``image.file_name`` of the record: the path relative to the image root
            (folder, index) or the member's name (shards).
        path (str): the image file, or the tar file holding it.
        offset (int): the member's data offset in the tar file (-1 for a plain file).
        size (int): the member's size in bytes (-1 for a plain file).
    """
    key: str
    file_name: str
    path: str
    offset: int = -1
    size: int = -1

    def read_bytes(self) -> bytes:
        """The encoded image."""
        with open(self.path, 'rb') as f:
            if self.offset < 0:
                return f.read()
            f.seek(self.offset)
            return f.read(self.size)

    def load(self) -> np.ndarray:
        """The image as an ``(H, W, 3)`` BGR ``uint8`` array.

        Raises:
            ValueError: the bytes do not decode as an image (the error names the image).
        """
        where = self.path if self.offset < 0 else f'{self.path}#{self.file_name}'
        try:
            image = mmcv.imfrombytes(self.read_bytes(), flag='color')
        except Exception as error:  # noqa: BLE001  (decoders raise many types)
            raise ValueError(f'cannot decode image {where}: {error}') from error
        if image is None:
            raise ValueError(f'cannot decode image {where}: not an image or a corrupt file')
        return image


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def folder_items(root: str) -> List[ImageItem]:
    """Every image under ``root`` (recursively), sorted by relative path."""
    items = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if _is_image(name):
                rel = osp.relpath(osp.join(dirpath, name), root).replace(os.sep, '/')
                items.append(ImageItem(osp.splitext(rel)[0], rel, osp.join(dirpath, name)))
    if not items:
        raise FileNotFoundError(f'folder {root!r} holds no image ({", ".join(IMAGE_EXTENSIONS)})')
    return items


def index_items(index: str, img_root: Optional[str] = None) -> List[ImageItem]:
    """The images an index file names, relative to ``img_root`` (default: the index's folder).

    ``.txt``: one image path per line (blank lines and ``#`` comments skipped). ``.jsonl``: one
    UMG record per line; its ``image.file_name`` is read (the annotations are not).

    Raises:
        ValueError: a line names no image (the error gives the file and line).
        FileNotFoundError: a named image does not exist.
    """
    img_root = osp.dirname(index) if img_root is None else img_root
    items = []
    with open(index, encoding='utf-8') as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if index.endswith('.jsonl'):
                try:
                    name = json.loads(line)['image']['file_name']
                except (ValueError, KeyError, TypeError) as error:
                    raise ValueError(f'{index}, line {line_no}: not a UMG record with '
                                     f'image.file_name ({error!r})') from error
            else:
                name = line
            path = osp.join(img_root, name)
            if not osp.isfile(path):
                raise FileNotFoundError(f'{index}, line {line_no}: image {path!r} does not exist')
            items.append(ImageItem(osp.splitext(name)[0], name, path))
    if not items:
        raise ValueError(f'index file {index!r} names no image')
    return items


def shard_items(pattern: str) -> List[ImageItem]:
    """The image members of WebDataset shards (one per sample key; other members ignored).

    Raises:
        ValueError: a shard cannot be read, or a key repeats.
    """
    items, seen = [], set()
    for url in expand_shards(pattern):
        try:
            with tarfile.open(url) as tar:
                members = [m for m in tar.getmembers() if m.isfile() and _is_image(m.name)]
        except (OSError, tarfile.TarError) as error:
            raise ValueError(f'cannot read shard {url!r}: {error}') from error
        for member in members:
            key = member.name.rsplit('.', 1)[0]
            if key in seen:
                raise ValueError(f'shard {url!r}: sample key {key!r} repeats (in this or an '
                                 f'earlier shard); keys must be unique')
            seen.add(key)
            items.append(ImageItem(key, member.name, url, member.offset_data, member.size))
    if not items:
        raise ValueError(f'shards {pattern!r} hold no image member')
    return items


def list_items(images: str, img_root: Optional[str] = None) -> List[ImageItem]:
    """The images of ``images``: a folder, an index file (``.txt`` / ``.jsonl``) or shards
    (``.tar``, a glob or a brace pattern)."""
    if osp.isdir(images):
        return folder_items(images)
    if images.endswith(('.txt', '.jsonl')):
        if not osp.isfile(images):
            raise FileNotFoundError(f'index file {images!r} does not exist')
        return index_items(images, img_root)
    if images.endswith('.tar') or '{' in images or any(c in images for c in '*?['):
        return shard_items(images)
    raise FileNotFoundError(f'{images!r} is neither a folder, an index file (.txt, .jsonl) nor '
                            f'shards (.tar, glob, brace pattern)')
