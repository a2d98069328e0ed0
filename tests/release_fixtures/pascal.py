"""Pascal VOC 2012 and VOC2010 + Pascal Context (59 and 459 classes) in miniature.

VOC 2012 (layout of the VOCtrainval_11-May-2012.tar devkit, read by mmseg's ``PascalVOCDataset``
and umg_mm's VOC-20 config)::

    VOCdevkit/VOC2012/JPEGImages/2007_000032.jpg ...
    VOCdevkit/VOC2012/SegmentationClass/2007_000032.png  palette PNG: 0 background, 1..20,
                                                         255 = object borders / difficult
    VOCdevkit/VOC2012/ImageSets/Segmentation/{train,val,trainval}.txt

VOC2010 with Pascal Context::

    VOCdevkit/VOC2010/JPEGImages/2008_000002.jpg ...
    VOCdevkit/VOC2010/ImageSets/Segmentation/val.txt        VOC2010's own (smaller) seg. list
    -- what mmseg's tools/dataset_converters/pascal_context.py writes (PC-59):
    VOCdevkit/VOC2010/SegmentationClassContext/<id>.png     uint8, 0 = background, 1..59
    VOCdevkit/VOC2010/ImageSets/SegmentationContext/{train,val}.txt
    -- the full release the PC-459 converter reads (cs.stanford.edu/~roozbeh/pascal-context):
    trainval.tar.gz  (trainval/<id>.mat, ``LabelMap`` uint16, 1..459 = labels.txt, 0 unlabeled)
    labels.txt       (``<index>: <name>``, 459 lines)

The PC-59 maps are made from the same 459-class maps with mmseg's converter mapping
(``_mapping`` and ``_class_to_index`` of ``pascal_context.py``, read from mmseg's source: the
script itself needs the Detail API and the merged JSON). Quirks: unlabeled pixels, 255 borders
in VOC, 16-bit .mat maps, classes present in one image only, ids that skip numbers.
"""
import ast
import io
import tarfile
from pathlib import Path
from typing import Dict, List

import numpy as np
import scipy.io
from mmseg.datasets import PascalContextDataset59, PascalVOCDataset

from .coco import MMSEG_TOOLS
from .images import layout, paint, present, write_jpeg, write_png

VOC = list(PascalVOCDataset.METAINFO['classes'])  # 'background' first
VOC_PALETTE = [v for rgb in PascalVOCDataset.METAINFO['palette'] for v in rgb]
VOC_IMAGES = {  # id: (h, w), (class, box) objects, split
    '2007_000032': ((48, 64), [(VOC.index('aeroplane'), (10, 30, 6, 50)),
                               (VOC.index('person'), (32, 46, 40, 50))], 'train'),
    '2007_000039': ((64, 48), [(VOC.index('tvmonitor'), (10, 40, 8, 40))], 'train'),
    '2007_000033': ((48, 64), [(VOC.index('aeroplane'), (8, 28, 4, 44)),
                               (VOC.index('person'), (30, 46, 50, 60))], 'val'),
    '2007_000042': ((56, 40), [(VOC.index('train'), (12, 44, 4, 36))], 'val'),
}


def write_voc2012(data: Path) -> Dict[int, int]:
    """Write ``data/VOCdevkit/VOC2012``; returns the val pixel counts of the 20 objects as
    VOC-20 labels (``class - 1``), background and borders left out."""
    root = data / 'VOCdevkit' / 'VOC2012'
    splits: Dict[str, List[str]] = {'train': [], 'val': []}
    counts: Dict[int, int] = {}
    for image_id, (shape, objects, split) in VOC_IMAGES.items():
        labels = layout(shape, [], objects, fill=0)
        for _, (y0, y1, x0, x1) in objects:  # VOC's 'void' outline around each object
            ring = np.zeros(shape, bool)
            ring[max(y0 - 1, 0):y1 + 1, max(x0 - 1, 0):x1 + 1] = True
            ring[y0 + 1:y1 - 1, x0 + 1:x1 - 1] = False
            labels[ring] = 255
        write_jpeg(root / 'JPEGImages' / f'{image_id}.jpg', paint(labels, len(splits[split])))
        write_png(root / 'SegmentationClass' / f'{image_id}.png', labels.astype(np.uint8),
                  VOC_PALETTE)
        splits[split].append(image_id)
        if split == 'val':
            for value, count in present(labels, [0, 255]).items():
                counts[value - 1] = counts.get(value - 1, 0) + count
    for name, ids in dict(splits, trainval=splits['train'] + splits['val']).items():
        path = root / 'ImageSets' / 'Segmentation' / f'{name}.txt'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(''.join(f'{i}\n' for i in sorted(ids)))
    return counts


def pc59_mapping() -> np.ndarray:
    """mmseg's ``_mapping`` (``pascal_context.py``): background 0 and the 59 classes' indices in
    labels.txt, sorted, so that ``searchsorted`` gives the PC-59 label."""
    source = (MMSEG_TOOLS / 'dataset_converters' / 'pascal_context.py').read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == '_mapping':
            values = ast.literal_eval(node.value.args[0].args[0])  # np.sort(np.array([...]))
            return np.sort(np.array(values))
    raise AssertionError(f'no _mapping in {MMSEG_TOOLS}/dataset_converters/pascal_context.py')


def context_labels() -> List[str]:
    """labels.txt's 459 names: the PC-59 classes at mmseg's indices, placeholders elsewhere
    (the real file is alphabetical, as are mmseg's PC-59 names)."""
    mapping = pc59_mapping()
    names = [f'context class {i}' for i in range(1, 460)]
    for index, name in zip(mapping[1:], PascalContextDataset59.METAINFO['classes']):
        names[index - 1] = name
    return names


def write_voc2010_context(data: Path) -> Dict[str, Dict[int, int]]:
    """Write ``data/VOCdevkit/VOC2010`` with mmseg's PC-59 output, and the PC-459 release
    (``data/trainval.tar.gz``, ``data/labels.txt``). Returns the val pixel counts of PC-459
    labels (``LabelMap - 1``) and of PC-59 labels (``map - 1``), unlabeled left out."""
    root = data / 'VOCdevkit' / 'VOC2010'
    names = context_labels()
    mapping = pc59_mapping()
    index = {n: i + 1 for i, n in enumerate(names)}
    sky, grass, person, dog, cls_a, cls_b = (index[n] for n in (
        'sky', 'grass', 'person', 'dog', 'context class 1', 'context class 4'))
    images = {  # id: (h, w), bands, boxes, split (ids skip numbers, as VOC's do)
        '2008_000002': ((48, 64), [(sky, 0, 18), (grass, 20, 48)],
                        [(person, (22, 44, 6, 20)), (cls_a, (30, 40, 40, 60))], 'train'),
        '2008_000003': ((48, 48), [(sky, 0, 16), (grass, 18, 48)],
                        [(dog, (24, 44, 10, 40))], 'val'),
        '2008_000007': ((56, 40), [(sky, 0, 20), (grass, 22, 56)],
                        [(person, (24, 50, 6, 20)), (cls_b, (30, 40, 24, 36))], 'val'),
    }
    lists: Dict[str, List[str]] = {'train': [], 'val': []}
    mats, counts = {}, {'pc459': {}, 'pc59': {}}
    for image_id, (shape, bands, boxes, split) in images.items():
        full = layout(shape, bands, boxes, fill=0)
        full[:, -2:] = 0  # unlabeled pixels
        write_jpeg(root / 'JPEGImages' / f'{image_id}.jpg', paint(full, len(mats)))
        mats[image_id] = full.astype(np.uint16)
        pc59 = np.where(np.isin(full, mapping), full, 0)  # what Detail's mask keeps
        pc59 = np.searchsorted(mapping, pc59).astype(np.uint8)  # _class_to_index
        write_png(root / 'SegmentationClassContext' / f'{image_id}.png', pc59)
        lists[split].append(image_id)
        if split == 'val':
            for key, labels in (('pc459', full), ('pc59', pc59)):
                for value, count in present(labels, [0]).items():
                    counts[key][value - 1] = counts[key].get(value - 1, 0) + count
    for split, ids in lists.items():
        path = root / 'ImageSets' / 'SegmentationContext' / f'{split}.txt'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(''.join(f'{i}\n' for i in sorted(ids)))
    seg_val = root / 'ImageSets' / 'Segmentation' / 'val.txt'  # VOC2010's own, not PC's
    seg_val.parent.mkdir(parents=True, exist_ok=True)
    seg_val.write_text('2008_000003\n')
    write_context_release(data, mats, names)
    return counts


def write_context_release(data: Path, label_maps: Dict[str, np.ndarray], names: List[str]):
    """``data/trainval.tar.gz`` (``trainval/<id>.mat`` holding ``LabelMap``, uint16) and
    ``data/labels.txt`` (``<index>: <name>`` lines), as the Pascal Context site ships them."""
    with tarfile.open(data / 'trainval.tar.gz', 'w:gz') as tar:
        for image_id, label_map in label_maps.items():
            buf = io.BytesIO()
            scipy.io.savemat(buf, {'LabelMap': label_map.astype(np.uint16)})
            info = tarfile.TarInfo(f'trainval/{image_id}.mat')
            info.size = len(buf.getvalue())
            tar.addfile(info, io.BytesIO(buf.getvalue()))
    (data / 'labels.txt').write_text(''.join(f'{i}: {n}\n' for i, n in enumerate(names, 1)))
