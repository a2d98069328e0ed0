"""Tiny checkpoints of the four umg_mm model types, made by the tests (no training, no data).

Each model is built from its shipped config (the tiny synthetic-world architectures; the
zero-shot classifier: the mmpretrain project's synthetic config), its class lists given inline
so that no synthetic world is needed, and its state saved in mmengine's checkpoint format, as
``tools/train.py`` would.
"""
from pathlib import Path

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import save_checkpoint

from mmpretrain.apis import get_model

from umg_mm.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
SEEN = ['circle', 'square', 'triangle', 'sky', 'grass', 'water']
CONFIGS = dict(
    pretrainer='configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py',
    semantic='configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py',
    panoptic='configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py',
    zero_shot='projects/umg_clip_zeroshot_mmpretrain/configs/'
    'umg-clip-tiny_zeroshot-cls_synthetic.py',
)


def tiny_config(kind: str) -> Config:
    """The shipped config of ``kind`` with its vocabularies as lists (no world on disk)."""
    cfg = Config.fromfile(str(ROOT / CONFIGS[kind]))
    if kind == 'zero_shot':
        cfg.model.text_prototype = SEEN
    elif kind == 'pretrainer':
        cfg.model.test_cfg.vocabulary = SEEN
    elif kind == 'semantic':
        cfg.model.train_vocabulary = SEEN
        cfg.model.ensemble.seen_classes = SEEN
        cfg.model.fallback.seen_classes = SEEN
    else:
        cfg.model.vocabulary = dict(thing_classes=SEEN[:3], stuff_classes=SEEN[3:])
        cfg.model.ensemble.seen_classes = SEEN
        cfg.model.fallback.seen_classes = SEEN
        # keep every query's segment, so that even an untrained model draws some
        cfg.model.test_cfg.update(object_mask_thr=0., iou_thr=0.)
    return cfg


def make_checkpoint(kind: str, path: Path, seed: int = 0) -> Path:
    """Build the tiny model of ``kind`` with ``seed`` and save its state to ``path``."""
    cfg = tiny_config(kind)
    init_default_scope(cfg.get('default_scope') or 'mmengine')
    torch.manual_seed(seed)
    model = get_model(cfg, pretrained=False) if kind == 'zero_shot' else MODELS.build(cfg.model)
    save_checkpoint({'state_dict': model.state_dict(), 'meta': dict(seed=seed)}, str(path))
    return path


def write_images(folder: Path, count: int, size=(48, 64), seed: int = 0):
    """``count`` coloured-block BGR images of ``size`` (H, W) as PNGs; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        image = np.zeros((*size, 3), np.uint8)
        image[:] = rng.integers(0, 256, 3)
        for _ in range(3):
            y, x = rng.integers(0, size[0] // 2), rng.integers(0, size[1] // 2)
            image[y:y + size[0] // 2, x:x + size[1] // 2] = rng.integers(0, 256, 3)
        paths.append(folder / f'img{i}.png')
        cv2.imwrite(str(paths[-1]), image)
    return paths
