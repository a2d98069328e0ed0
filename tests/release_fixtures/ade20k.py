"""ADE20K in miniature: the SceneParsing release (ADE-150, ADE20K panoptic) and the full release
(ADE-847).

SceneParsing ``ADEChallengeData2016`` (layout of the MIT scene-parsing download, read by mmseg's
``ADE20KDataset``; its instance release unpacked into the same folder, as mmdet's
``ade20k2coco.py`` and umg_mm's ``ade20k_panoptic.py`` expect)::

    ADEChallengeData2016/images/{training,validation}/ADE_train_00000001.jpg ...
    ADEChallengeData2016/annotations/{training,validation}/ADE_train_00000001.png
        uint8, 1..150 = the lines of objectInfo150.txt, 0 = other/unlabeled (reduce_zero_label)
    ADEChallengeData2016/annotations_instance/{training,validation}/<name>.png
        RGB: R = instance category 1..100, G = instance id
    ADEChallengeData2016/objectInfo150.txt    (Idx Ratio Train Val Name, tab separated)
    ADEChallengeData2016/categoryMapping.txt  (instanceCategory semanticCategory name)
    ADEChallengeData2016/sceneCategories.txt

The full release ``ADE20K_2021_17_01`` (layout of the ADE20K site's 2021 download, read by
umg_mm's ``ade20k_847.py``)::

    ADE20K_2021_17_01/index_ade20k.pkl   (filename, folder, objectnames, scene, ...)
    ADE20K_2021_17_01/images/ADE/{training,validation}/<scene group>/<scene>/ADE_*.jpg
    ... beside each image <name>_seg.png: class = R / 10 * 256 + G (0 = unlabeled)

Quirks: unlabeled pixels in every map, classes annotated in one split only (the 847-class
vocabulary keeps those of both splits), a grayscale image, thing classes without instance.
"""
import pickle
from pathlib import Path
from typing import Dict, List

import numpy as np
from mmseg.datasets import ADE20KDataset

from .images import layout, paint, present, write_jpeg, write_png

ADE150 = list(ADE20KDataset.METAINFO['classes'])
SYNONYMS = {'building': 'building;edifice', 'floor': 'floor;flooring',
            'person': 'person;individual;someone;somebody;mortal;soul',
            'car': 'car;auto;automobile;machine;motorcar'}
WALL, BUILDING, SKY, FLOOR, TREE, PERSON, CAR = (ADE150.index(n) + 1 for n in (
    'wall', 'building', 'sky', 'floor', 'tree', 'person', 'car'))
#: instance category -> semantic class (a few lines of the release's 100)
INSTANCE_CATEGORIES = {1: PERSON, 2: CAR}
#: per split: name, (h, w), stuff bands (class, y0, y1), instances (class, box), grayscale
SCENES = {
    'training': [
        ('ADE_train_00000001', (48, 64), [(SKY, 0, 16), (BUILDING, 16, 34), (FLOOR, 36, 48)],
         [(PERSON, (20, 44, 6, 18)), (CAR, (30, 46, 30, 60))], False),
        ('ADE_train_00000002', (64, 48), [(WALL, 0, 40), (FLOOR, 42, 64)],
         [(PERSON, (10, 60, 10, 24))], True),
    ],
    'validation': [
        ('ADE_val_00000001', (48, 64), [(SKY, 0, 18), (TREE, 18, 30), (FLOOR, 32, 48)],
         [(CAR, (28, 46, 8, 40)), (PERSON, (20, 46, 44, 56))], False),
        ('ADE_val_00000002', (56, 40), [(WALL, 0, 30), (FLOOR, 32, 56)],
         [(PERSON, (12, 50, 8, 22))], False),
    ],
}


def write_scene_parsing(root: Path) -> Dict[str, Dict[int, int]]:
    """Write ``root`` (an ``ADEChallengeData2016`` folder) with its instance release; returns the
    pixel counts of the semantic classes (1..150) per split, unlabeled (0) left out."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ['Idx\tRatio\tTrain\tVal\tName']
    lines += [f'{i}\t{0.1 / i:.4f}\t{1000 // i}\t{100 // i}\t{SYNONYMS.get(n, n)}'
              for i, n in enumerate(ADE150, 1)]
    (root / 'objectInfo150.txt').write_text('\n'.join(lines) + '\n')
    (root / 'categoryMapping.txt').write_text('instanceCategory semanticCategory name\n' + ''.join(
        f'{k} {v} {ADE150[v - 1]}\n' for k, v in INSTANCE_CATEGORIES.items()))
    by_class = {v: k for k, v in INSTANCE_CATEGORIES.items()}
    scenes, counts = [], {}
    for split, images in SCENES.items():
        total: Dict[int, int] = {}
        for name, shape, bands, things, gray in images:
            semantic = layout(shape, bands, things, fill=0)
            semantic[:2, :] = 0  # an unlabeled top row
            instance = np.zeros((*shape, 3), np.uint8)
            for k, (cls, box) in enumerate(things[:-1] if len(things) > 1 else things, 1):
                mask = layout(shape, [], [(1, box)]).astype(bool) & (semantic == cls)
                instance[mask] = (by_class[cls], k, 0)  # the last thing of a pair: no instance
            write_jpeg(root / 'images' / split / f'{name}.jpg', paint(semantic, len(scenes)),
                       gray)
            write_png(root / 'annotations' / split / f'{name}.png', semantic.astype(np.uint8))
            write_png(root / 'annotations_instance' / split / f'{name}.png', instance)
            scenes.append(f'{name} street')
            for value, count in present(semantic, [0]).items():
                total[value] = total.get(value, 0) + count
        counts[split] = total
    (root / 'sceneCategories.txt').write_text('\n'.join(scenes) + '\n')
    return counts


#: full-release object indices (objectnames[k - 1]): the release's 3,688 names, a few named
FULL_NAMES = {2978: 'wall', 2421: 'sky', 1831: 'person, individual, someone, somebody',
              401: 'car, auto, automobile, machine, motorcar', 1451: 'lamp', 977: 'floor'}
FULL_WALL, FULL_SKY, FULL_PERSON, FULL_CAR, FULL_LAMP, FULL_FLOOR = FULL_NAMES
FULL_SCENES = {
    'training': [
        ('ADE_train_00000001', 'urban/street', (48, 64),
         [(FULL_SKY, 0, 16), (FULL_WALL, 16, 34), (FULL_FLOOR, 36, 48)],
         [(FULL_PERSON, (20, 44, 6, 18)), (FULL_CAR, (30, 46, 30, 60))]),
        ('ADE_train_00000002', 'home_or_hotel/bedroom', (64, 48),
         [(FULL_WALL, 0, 40), (FULL_FLOOR, 42, 64)], [(FULL_PERSON, (10, 60, 10, 24))]),
    ],
    'validation': [
        ('ADE_val_00000001', 'urban/street', (48, 64),
         [(FULL_SKY, 0, 18), (FULL_WALL, 18, 30), (FULL_FLOOR, 32, 48)],
         [(FULL_CAR, (28, 46, 8, 40)), (FULL_LAMP, (4, 14, 50, 56))]),
    ],
}

#: the classes annotated in both splits, most training images first, ties by ADE index: what
#: the ADE-847 converter must derive here (floor and wall in 2 training images, car and sky in
#: 1; person only in training, lamp only in validation)
FULL_VOCABULARY = [FULL_FLOOR, FULL_WALL, FULL_CAR, FULL_SKY]


def ade_seg_png(classes: np.ndarray) -> np.ndarray:
    """The full release's ``*_seg.png`` (RGB) of a class map: R / 10 * 256 + G = class, B =
    instance (R keeps a ones digit, as in the release)."""
    r = classes // 256 * 10 + 3
    return np.stack([r, classes % 256, np.full_like(classes, 7)], -1).astype(np.uint8)


def write_full_release(data: Path) -> List[str]:
    """Write ``data/ADE20K_2021_17_01``; returns the names of :data:`FULL_VOCABULARY`."""
    root = data / 'ADE20K_2021_17_01'
    names = [f'object {i}' for i in range(1, 3689)]
    for index, name in FULL_NAMES.items():
        names[index - 1] = name
    index = dict(filename=[], folder=[], objectnames=names, scene=[], objectPresence=None)
    for split, images in FULL_SCENES.items():
        for name, scene, shape, bands, things in images:
            folder = f'ADE20K_2021_17_01/images/ADE/{split}/{scene}'
            classes = layout(shape, bands, things, fill=0)
            classes[:, :2] = 0
            write_jpeg(data / folder / f'{name}.jpg', paint(classes, len(index['filename'])))
            write_png(data / folder / f'{name}_seg.png', ade_seg_png(classes))
            index['filename'].append(f'{name}.jpg')
            index['folder'].append(folder)
            index['scene'].append(scene.split('/')[-1])
    with open(root / 'index_ade20k.pkl', 'wb') as f:
        pickle.dump(index, f)
    return [names[c - 1] for c in FULL_VOCABULARY]
