"""PASCAL-Context full release (459 classes) -> mmseg label maps and vocabulary.

The release is ``trainval.tar.gz`` (one ``trainval/<image id>.mat`` per VOC2010 image, whose
``LabelMap`` holds values ``1 .. 459`` indexing ``labels.txt``, 0 = unlabeled) and ``labels.txt``
(lines ``<index>: <name>``). The open-vocabulary benchmark "PC-459" evaluates the 5,105 images of
the VOC2010 validation list. This converter writes, for the images of an optional split list:

- ``<out_dir>/annotations/<image id>.png``: 16-bit label maps, value = ``LabelMap - 1`` (a line of
  the vocabulary file), 65535 = ignore (unlabeled);
- ``<out_dir>/pascal_context_<N>.txt``: the class names in index order (N = 459).

The images stay in ``VOC2010/JPEGImages``; read with mmseg's ``BaseSegDataset(img_suffix='.jpg',
seg_map_suffix='.png')``, ``ignore_index=65535``.
"""
import io
import os
import os.path as osp
import tarfile
from typing import Dict, Iterator, Optional, Tuple

import numpy as np
import scipy.io

from ...structures.vocabulary import write_vocabulary_file
from .common import IGNORE_INDEX_16BIT, write_label_map


def read_labels(labels_file: str) -> list:
    """Class names of ``labels.txt`` (``<index>: <name>`` per line, indices ``1 .. N``)."""
    names = []
    with open(labels_file, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            index, sep, name = line.partition(':')
            if not sep or not index.strip().isdigit() or not name.strip():
                raise ValueError(f'{labels_file}, line {line_no}: expected "<index>: <name>", '
                                 f'got {line.rstrip()!r}')
            if int(index) != len(names) + 1:
                raise ValueError(f'{labels_file}, line {line_no}: index {int(index)} where '
                                 f'{len(names) + 1} was expected (indices must run 1, 2, ...)')
            names.append(name.strip())
    if not names:
        raise ValueError(f'{labels_file} holds no class')
    return names


def _mat_files(trainval: str) -> Iterator[Tuple[str, str, bytes]]:
    """Yield ``(image id, where, .mat bytes)`` from the tarball or an extracted folder."""
    if osp.isdir(trainval):
        for name in sorted(os.listdir(trainval)):
            if name.endswith('.mat'):
                path = osp.join(trainval, name)
                with open(path, 'rb') as f:
                    yield name[:-4], path, f.read()
        return
    if not osp.isfile(trainval):
        raise FileNotFoundError(f'{trainval} not found: give trainval.tar.gz or the folder '
                                f'extracted from it')
    with tarfile.open(trainval) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith('.mat'):
                yield (osp.basename(member.name)[:-4], f'{trainval}:{member.name}',
                       tar.extractfile(member).read())


def convert_pascal_context_full(trainval: str, labels_file: str, out_dir: str,
                                split_file: Optional[str] = None) -> Dict:
    """Convert PASCAL-Context full annotations to 16-bit mmseg label maps.

    Args:
        trainval (str): ``trainval.tar.gz`` or the folder of ``.mat`` files.
        labels_file (str): ``labels.txt``.
        out_dir (str): Output folder.
        split_file (str, optional): Image ids to convert, one per line (e.g. VOC2010's
            ``ImageSets/Segmentation/val.txt`` for the PC-459 benchmark); all when omitted.

    Returns:
        dict: ``num_classes``, ``vocabulary`` (path) and ``images`` (count written).
    """
    names = read_labels(labels_file)
    wanted = None
    if split_file is not None:
        with open(split_file, encoding='utf-8') as f:
            wanted = {line.strip() for line in f if line.strip()}
    done = set()
    for image_id, where, data in _mat_files(trainval):
        if wanted is not None and image_id not in wanted:
            continue
        mat = scipy.io.loadmat(io.BytesIO(data))
        if 'LabelMap' not in mat:
            raise KeyError(f'{where} has no LabelMap (variables: '
                           f'{sorted(k for k in mat if not k.startswith("__"))})')
        label_map = mat['LabelMap'].astype(np.int64)
        if label_map.max() > len(names) or label_map.min() < 0:
            raise ValueError(f'{where}: LabelMap values span {label_map.min()}..'
                             f'{label_map.max()}, beyond the {len(names)} classes of '
                             f'{labels_file}')
        labels = np.where(label_map == 0, IGNORE_INDEX_16BIT, label_map - 1).astype(np.uint16)
        write_label_map(osp.join(out_dir, 'annotations', f'{image_id}.png'), labels)
        done.add(image_id)
    if wanted is not None and wanted - done:
        missing = sorted(wanted - done)
        raise FileNotFoundError(f'{len(missing)} image ids of {split_file} have no .mat in '
                                f'{trainval}, e.g. {missing[:5]}')
    vocab_file = osp.join(out_dir, f'pascal_context_{len(names)}.txt')
    write_vocabulary_file(vocab_file, names)
    return {'num_classes': len(names), 'vocabulary': vocab_file, 'images': len(done)}
