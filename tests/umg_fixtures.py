"""Small UMG data sets written by tests: the same records as a folder tree, an index file, shards.

Each image is ``HxW`` random noise with a bright square (region 0 and segment 0, a 'thing' with an
RLE mask) in its left half and a polygon triangle (region 1, segment 1) in its right half; the
bottom stripe is a 'stuff' segment (segment 2). Captions say where things are, so flips can be
checked.
"""
import io
import json
import os
import os.path as osp
import tarfile
from typing import List, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_util


def rle_of(mask: np.ndarray) -> dict:
    """COCO compressed RLE (``counts`` as str) of a (H, W) binary mask."""
    rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode('ascii'))


def make_sample(index: int, height: int = 32, width: int = 48) -> Tuple[dict, np.ndarray]:
    """One valid record and its BGR image (uint8, (height, width, 3))."""
    rng = np.random.default_rng(index)
    img = rng.integers(0, 100, (height, width, 3), dtype=np.uint8)
    square = np.zeros((height, width), np.uint8)
    square[4:12, 4:14] = 1
    img[square.astype(bool)] = 250
    stuff = np.zeros((height, width), np.uint8)
    stuff[height - 6:, :] = 1
    triangle = [width - 16.0, 12.0, width - 4.0, 12.0, width - 10.0, 4.0]
    record = {
        'schema': 'umg/1',
        'image': {'file_name': f'img_{index:04d}.png', 'height': height, 'width': width,
                  'id': f'img_{index:04d}'},
        'captions': [f'image {index}: a white square on the left of a triangle',
                     f'image {index}: a triangle right of a square'],
        'tags': ['square', 'triangle', 'ground'],
        'regions': [
            {'bbox': [4.0, 4.0, 14.0, 12.0], 'captions': [f'the left square {index}'],
             'tags': ['square']},
            {'bbox': [width - 16.0, 4.0, width - 4.0, 12.0], 'captions': [],
             'tags': [f'triangle {index}']},
        ],
        'segments': [
            {'segmentation': rle_of(square), 'tags': ['square'], 'captions': [f'sq {index}'],
             'isthing': True},
            {'segmentation': [triangle], 'tags': ['triangle'], 'isthing': True},
            {'segmentation': rle_of(stuff), 'tags': ['ground', 'floor'], 'isthing': False},
        ],
    }
    return record, img


def make_samples(n: int, height: int = 32, width: int = 48) -> List[Tuple[dict, np.ndarray]]:
    return [make_sample(i, height, width) for i in range(n)]


def encode_png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode('.png', img)
    assert ok
    return buf.tobytes()


def write_folder_tree(root: str, samples: Sequence[Tuple[dict, np.ndarray]]) -> List[str]:
    """Write ``<root>/part<k>/<stem>.png`` + ``<stem>.json``; return the JSON paths."""
    paths = []
    for i, (record, img) in enumerate(samples):
        folder = osp.join(root, f'part{i % 2}')
        os.makedirs(folder, exist_ok=True)
        file_name = record.get('image', {}).get('file_name', f'img_{i:04d}.png')
        cv2.imwrite(osp.join(folder, file_name), img)
        path = osp.join(folder, osp.splitext(file_name)[0] + '.json')
        with open(path, 'w') as f:
            json.dump(record, f)
        paths.append(path)
    return paths


def write_index(path: str, img_root: str, samples: Sequence[Tuple[dict, np.ndarray]]) -> str:
    """Write images under ``img_root`` and the records into ``path`` (.jsonl or .json)."""
    os.makedirs(img_root, exist_ok=True)
    for record, img in samples:
        cv2.imwrite(osp.join(img_root, record['image']['file_name']), img)
    records = [record for record, _ in samples]
    with open(path, 'w') as f:
        if path.endswith('.jsonl'):
            f.writelines(json.dumps(r) + '\n' for r in records)
        else:
            json.dump({'schema': 'umg/1', 'records': records}, f)
    return path


def write_tar(path: str, members: Sequence[Tuple[str, bytes]]) -> str:
    with tarfile.open(path, 'w') as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_shards(folder: str, samples: Sequence[Tuple[dict, np.ndarray]],
                 num_shards: int) -> List[str]:
    """Write ``shard-0000.tar``...; sample ``i`` goes to shard ``i % num_shards`` as
    ``<stem>.png`` + ``<stem>.json``. Return the shard paths."""
    os.makedirs(folder, exist_ok=True)
    members: List[List[Tuple[str, bytes]]] = [[] for _ in range(num_shards)]
    for i, (record, img) in enumerate(samples):
        stem = osp.splitext(record['image']['file_name'])[0]
        members[i % num_shards] += [(stem + '.png', encode_png(img)),
                                    (stem + '.json', json.dumps(record).encode())]
    return [write_tar(osp.join(folder, f'shard-{k:04d}.tar'), m) for k, m in enumerate(members)]


def demo_panoptic_batch(model, num_classes: int, training: bool) -> dict:
    """Two mmdet demo images (64x64, 64x48) with 3 and 2 panoptic items, through the model's
    data preprocessor."""
    from mmdet.testing import demo_mm_inputs
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 64, 64), (3, 64, 48)],
                            num_items=[3, 2], num_classes=num_classes, with_mask=True,
                            with_semantic=True)
    return model.data_preprocessor(packed, training=training)


class WritesMarkerWhenUnpickled:
    """An object whose unpickling runs ``exec``, which writes ``marker``: the payload of a crafted
    data file or checkpoint (``pickle.load`` runs it; a safe loader must refuse it)."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f'open({str(self.marker)!r}, "w").write("ran")', )
