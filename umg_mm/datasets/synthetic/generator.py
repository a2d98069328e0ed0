"""Writing a whole synthetic world to disk (see ``docs/synthetic_world.md`` for the layout).

The world is written into a sibling folder ``<out_dir>.partial`` and moved into place only when
complete, so an interrupted run never leaves a half-written world where a good one was.
Every image is drawn from its own random stream ``(seed, split, index)``: the output is the same
byte for byte for a given seed and options, whatever the number of worker processes.
"""
import io
import json
import multiprocessing
import os
import os.path as osp
import shutil
import tarfile
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from umg_mm.utils.atomic_io import dumps_json
from .annotate import IGNORE_INDEX, annotate_scene, encode_jpeg
from .categories import (ALL_CLASSES, COLOURS, DEFAULT_HELD_OUT_STUFF, DEFAULT_HELD_OUT_THINGS,
                         SIZES, STUFF_CLASSES, THING_CLASSES, category_id, parse_held_out,
                         seen_classes)
from .scene import render_scene, sample_scene

WORLD_FORMAT = 'umg_mm.synthetic_world/1'
#: Every split a world can hold. ``dev`` (the development split, for choosing thresholds and other
#: settings) is annotated like ``val`` and has its own random streams, so adding it, or changing
#: its size, leaves the train and val files unchanged.
SPLITS = ('train', 'val', 'dev')
_SPLIT_CODES = {'train': 0, 'val': 1, 'dev': 2}


@dataclass
class SyntheticWorldConfig:
    """Options of a synthetic world.

    Args:
        seed (int): Seed of every random choice.
        num_train (int): Images in the train split.
        num_val (int): Images in the val split (reported figures only).
        num_dev (int): Images in the dev split (for choosing thresholds, resolutions, ensemble
            weights and templates); 0 writes no dev split.
        image_size (int): Side of the square images in pixels (at least 32).
        held_out_things (Sequence[str]): Thing classes absent from the train segmentation
            labels (still in the train captions, regions and UMG masks).
        held_out_stuff (Sequence[str]): Stuff classes held out in the same way.
        caption_noise (float): Probability in ``[0, 1]`` that a caption is corrupted.
        min_things (int): Fewest things per image.
        max_things (int): Most things per image.
        shard_size (int): Samples per WebDataset tar shard.
        jpeg_quality (int): JPEG quality of the images.
    """
    seed: int = 0
    num_train: int = 2000
    num_val: int = 500
    num_dev: int = 500
    image_size: int = 128
    held_out_things: Sequence[str] = field(default_factory=lambda: DEFAULT_HELD_OUT_THINGS)
    held_out_stuff: Sequence[str] = field(default_factory=lambda: DEFAULT_HELD_OUT_STUFF)
    caption_noise: float = 0.1
    min_things: int = 1
    max_things: int = 3
    shard_size: int = 250
    jpeg_quality: int = 90

    def check(self) -> None:
        """Raise ``ValueError`` naming the first bad option and its allowed values.

        Also puts the held-out names in vocabulary order (as tuples).
        """
        self.held_out_things = parse_held_out(self.held_out_things, THING_CLASSES, 'thing')
        self.held_out_stuff = parse_held_out(self.held_out_stuff, STUFF_CLASSES, 'stuff')
        rules = [
            (self.num_train >= 1, 'num_train', self.num_train, 'at least 1'),
            (self.num_val >= 1, 'num_val', self.num_val, 'at least 1'),
            (self.num_dev >= 0, 'num_dev', self.num_dev, 'at least 0 (0: no dev split)'),
            (self.image_size >= 32, 'image_size', self.image_size, 'at least 32'),
            (0.0 <= self.caption_noise <= 1.0, 'caption_noise', self.caption_noise,
             'within [0, 1]'),
            (1 <= self.min_things <= self.max_things <= 6, 'min_things/max_things',
             (self.min_things, self.max_things), '1 <= min_things <= max_things <= 6'),
            (self.shard_size >= 1, 'shard_size', self.shard_size, 'at least 1'),
            (1 <= self.jpeg_quality <= 100, 'jpeg_quality', self.jpeg_quality,
             'within [1, 100]'),
        ]
        for ok, name, value, allowed in rules:
            if not ok:
                raise ValueError(f'synthetic world option {name}={value!r} is invalid: it must be '
                                 f'{allowed}')

    @property
    def held_out(self) -> List[str]:
        """All held-out classes, things first."""
        return list(self.held_out_things) + list(self.held_out_stuff)

    @property
    def split_sizes(self) -> Dict[str, int]:
        """Images of each split written, in ``SPLITS`` order (dev only when ``num_dev > 0``)."""
        sizes = {'train': self.num_train, 'val': self.num_val, 'dev': self.num_dev}
        return {split: sizes[split] for split in SPLITS if sizes[split] > 0}


def _init_worker() -> None:
    cv2.setNumThreads(1)


def _draw_image(task: Tuple[str, int, SyntheticWorldConfig, str]) -> Dict:
    """Draw, annotate and write the per-image files of one image; return what the indexes need."""
    split, index, cfg, root = task
    size = cfg.image_size
    stem = f'{split}_{index:06d}'
    rng = np.random.default_rng([cfg.seed, _SPLIT_CODES[split], index])
    while True:  # a scene whose every thing is too occluded is drawn again (very rare)
        scene = sample_scene(rng, size, size, cfg.min_things, cfg.max_things)
        image, bands, things, masks = render_scene(scene, rng, size, size)
        if things:
            break
    held_out = cfg.held_out if split == 'train' else []
    out = annotate_scene(
        stem, image, scene, bands, things, masks, held_out, seen_classes(held_out),
        cfg.caption_noise, np.random.default_rng([cfg.seed, _SPLIT_CODES[split], index, 1]),
        np.random.default_rng([cfg.seed, _SPLIT_CODES[split], index, 2]))
    jpg = encode_jpeg(image, cfg.jpeg_quality)
    record_json = dumps_json(out['record']).encode('utf-8')
    files = {
        f'images/{split}/{stem}.jpg': jpg,
        f'images/{split}/{stem}.json': record_json + b'\n',
        f'annotations/panoptic_{split}/{stem}.png': out['panoptic_png'],
        f'seg_maps/{split}/{stem}.png': out['label_png'],
    }
    for rel, data in files.items():
        with open(osp.join(root, rel), 'wb') as f:
            f.write(data)
    return {'stem': stem, 'index': index, 'record_json': record_json,
            'segments_info': out['segments_info'], 'instances': out['instances'],
            'image_labels': out['image_labels'], 'num_regions': len(out['record']['regions']),
            'num_segments': len(out['record']['segments'])}


def _write(root: str, rel: str, data) -> None:
    path = osp.join(root, rel)
    os.makedirs(osp.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode('utf-8')
    with open(path, 'wb') as f:
        f.write(data)


def _write_shards(root: str, split: str, results: List[Dict], shard_size: int) -> List[str]:
    names = []
    for start in range(0, len(results), shard_size):
        name = f'umg/shards/{split}-{start // shard_size:06d}.tar'
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w', format=tarfile.GNU_FORMAT) as tar:
            for res in results[start:start + shard_size]:
                with open(osp.join(root, 'images', split, f'{res["stem"]}.jpg'), 'rb') as f:
                    jpg = f.read()
                for ext, data in (('jpg', jpg), ('json', res['record_json'] + b'\n')):
                    info = tarfile.TarInfo(f'{res["stem"]}.{ext}')
                    info.size, info.mtime, info.mode = len(data), 0, 0o644
                    info.uname = info.gname = ''
                    tar.addfile(info, io.BytesIO(data))
        _write(root, name, buf.getvalue())
        names.append(name)
    return names


def _coco_categories(names: Iterable[str]) -> List[Dict]:
    return [{'id': category_id(n), 'name': n, 'supercategory': 'shape' if n in THING_CLASSES
             else 'texture', 'isthing': int(n in THING_CLASSES)} for n in names]


def _write_split_indexes(root: str, split: str, results: List[Dict],
                         cfg: SyntheticWorldConfig) -> Dict:
    size = cfg.image_size
    held_out = cfg.held_out if split == 'train' else []
    classes = seen_classes(held_out)
    images = [{'id': r['index'], 'file_name': f'{r["stem"]}.jpg', 'height': size, 'width': size}
              for r in results]
    _write(root, f'umg/{split}.jsonl', b''.join(r['record_json'] + b'\n' for r in results))
    shards = _write_shards(root, split, results, cfg.shard_size)
    panoptic = {
        'info': {'description': f'umg_mm synthetic world, {split} split'},
        'images': images,
        'annotations': [{'image_id': r['index'], 'file_name': f'{r["stem"]}.png',
                         'segments_info': r['segments_info']} for r in results],
        'categories': _coco_categories(classes),
    }
    _write(root, f'annotations/panoptic_{split}.json', dumps_json(panoptic) + '\n')
    instances, ann_id = [], 1
    for r in results:
        for ann in r['instances']:
            instances.append({'id': ann_id, 'image_id': r['index'], **ann})
            ann_id += 1
    coco_instances = {
        'info': {'description': f'umg_mm synthetic world, {split} split, things'},
        'images': images,
        'annotations': instances,
        'categories': _coco_categories(n for n in classes if n in THING_CLASSES),
    }
    _write(root, f'annotations/instances_{split}.json', dumps_json(coco_instances) + '\n')
    labels = [r['image_labels'] for r in results]
    _write(root, f'image_labels/{split}.json',
           dumps_json({'classes': list(THING_CLASSES), 'images': labels}, indent=1) + '\n')
    _write(root, f'image_labels/{split}.txt',
           ''.join(f'{x["file_name"]} {x["main_label_index"]}\n' for x in labels))
    multilabel = {'metainfo': {'classes': list(THING_CLASSES)},
                  'data_list': [{'img_path': x['file_name'],
                                 'gt_label': [THING_CLASSES.index(n) for n in x['labels']
                                              if n in THING_CLASSES]} for x in labels]}
    _write(root, f'image_labels/{split}_multilabel.json', dumps_json(multilabel) + '\n')
    present = {name: 0 for name in ALL_CLASSES}
    for x in labels:
        for name in x['labels']:
            present[name] += 1
    return {
        'num_images': len(results),
        'num_regions': sum(r['num_regions'] for r in results),
        'num_segments': sum(r['num_segments'] for r in results),
        'num_panoptic_segments': sum(len(r['segments_info']) for r in results),
        'num_instances': len(instances),
        'segmentation_classes': classes,
        'images_per_class': present,
        'shards': shards,
    }


def _prepare_destination(out_dir: str, overwrite: bool) -> Optional[str]:
    """Check ``out_dir``; return the folder to move aside after success, if any."""
    if not osp.exists(out_dir) or (osp.isdir(out_dir) and not os.listdir(out_dir)):
        return None
    if not osp.isdir(out_dir):
        raise FileExistsError(f'{out_dir} exists and is not a folder; choose another OUT_DIR')
    if not overwrite:
        raise FileExistsError(f'{out_dir} is not empty; choose an empty or new OUT_DIR, or pass '
                              f'overwrite=True (--overwrite) to replace a synthetic world there')
    meta_path = osp.join(out_dir, 'meta.json')
    try:
        with open(meta_path) as f:
            is_world = json.load(f).get('format') == WORLD_FORMAT
    except (OSError, ValueError, AttributeError):
        is_world = False
    if not is_world:
        raise FileExistsError(f'{out_dir} is not empty and holds no synthetic world ({meta_path} '
                              f'missing or without "format": "{WORLD_FORMAT}"); refusing to '
                              f'replace it. Choose an empty or new OUT_DIR')
    return out_dir


def generate_synthetic_world(out_dir: str, cfg: Optional[SyntheticWorldConfig] = None,
                             workers: int = 1, overwrite: bool = False) -> Dict:
    """Write a synthetic world to ``out_dir``.

    Args:
        out_dir (str): Destination folder: new, empty, or (with ``overwrite``) holding a
            synthetic world written earlier.
        cfg (SyntheticWorldConfig, optional): Options; defaults to ``SyntheticWorldConfig()``.
        workers (int): Processes drawing images (1 draws in this process).
        overwrite (bool): Replace a synthetic world already in ``out_dir``.

    Returns:
        dict: The content of ``meta.json`` plus ``seconds`` (wall time of the run).
    """
    start = time.perf_counter()
    cfg = cfg or SyntheticWorldConfig()
    cfg.check()
    if workers < 1:
        raise ValueError(f'workers={workers} is invalid: it must be at least 1')
    out_dir = osp.abspath(out_dir)
    old = _prepare_destination(out_dir, overwrite)
    root = f'{out_dir}.partial'
    if osp.exists(root):
        shutil.rmtree(root)
    counts = cfg.split_sizes
    for split in counts:
        for sub in (f'images/{split}', f'annotations/panoptic_{split}', f'seg_maps/{split}'):
            os.makedirs(osp.join(root, sub))

    tasks = [(split, i, cfg, root) for split, n in counts.items() for i in range(n)]
    if workers == 1:
        _init_worker()
        results = [_draw_image(t) for t in tasks]
    else:
        ctx = multiprocessing.get_context('fork')
        with ctx.Pool(workers, initializer=_init_worker) as pool:
            results = pool.map(_draw_image, tasks, chunksize=16)

    splits = {}
    for split in counts:
        split_results = [r for r in results if r['stem'].startswith(f'{split}_')]
        splits[split] = _write_split_indexes(root, split, split_results, cfg)

    seen = seen_classes(cfg.held_out)
    vocabularies = {
        'all': list(ALL_CLASSES), 'things': list(THING_CLASSES), 'stuff': list(STUFF_CLASSES),
        'seen': seen, 'seen_things': [n for n in seen if n in THING_CLASSES],
        'seen_stuff': [n for n in seen if n in STUFF_CLASSES], 'held_out': cfg.held_out,
    }
    for name, classes in vocabularies.items():
        _write(root, f'vocabularies/{name}.txt', ''.join(f'{c}\n' for c in classes))
    options = asdict(cfg)
    options['held_out_things'] = list(cfg.held_out_things)
    options['held_out_stuff'] = list(cfg.held_out_stuff)
    meta = {
        'format': WORLD_FORMAT,
        'schema': 'umg/1',
        'seed': cfg.seed,
        'options': options,
        'categories': [{'id': category_id(n), 'name': n, 'isthing': n in THING_CLASSES,
                        'held_out': n in cfg.held_out} for n in ALL_CLASSES],
        'held_out': {'things': list(cfg.held_out_things), 'stuff': list(cfg.held_out_stuff)},
        'colours': list(COLOURS),
        'sizes': list(SIZES),
        'ignore_index': IGNORE_INDEX,
        'vocabularies': {k: f'vocabularies/{k}.txt' for k in vocabularies},
        'splits': splits,
    }
    _write(root, 'meta.json', dumps_json(meta, indent=2) + '\n')

    if old is not None:
        aside = f'{out_dir}.old'
        if osp.exists(aside):
            shutil.rmtree(aside)
        os.replace(out_dir, aside)
        os.replace(root, out_dir)
        shutil.rmtree(aside)
    else:
        if osp.isdir(out_dir):
            os.rmdir(out_dir)
        os.makedirs(osp.dirname(out_dir), exist_ok=True)
        os.replace(root, out_dir)
    return dict(meta, seconds=time.perf_counter() - start)
