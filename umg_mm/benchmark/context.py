"""What every benchmark section shares: the model, sizes, device, repeats and the test images."""
import os.path as osp
import shutil
import tempfile
from copy import deepcopy
from dataclasses import dataclass, field
from typing import List, Optional

import open_clip
import torch
from mmengine.config import Config

from umg_mm.models.utils.open_clip_builder import NANO_MODEL
from .timing import Clock

#: ``--model`` value of the tiny open_clip architecture (2 blocks, width 64, patch 8).
TINY_MODEL = 'tiny'
#: Images in the synthetic world written for the data-pipeline and training-step sections.
WORLD_IMAGES = 16


def clip_config(model: str) -> dict:
    """The open_clip model config (``model_configs/*.json`` format) of ``model``, or the tiny one.

    Every section builds its models from this dict with random weights: nothing is downloaded.
    """
    if model == TINY_MODEL:
        return deepcopy(open_clip.get_model_config(NANO_MODEL))
    cfg = open_clip.get_model_config(model)
    if cfg is None:
        raise ValueError(f'--model {model!r} is not an open_clip model name; use one of '
                         f'open_clip.list_models() (e.g. ViT-B-16) or {TINY_MODEL!r}')
    return deepcopy(cfg)


def with_image_size(clip_cfg: dict, size: int) -> dict:
    """A copy of ``clip_cfg`` whose visual tower is native at ``size`` px."""
    cfg = deepcopy(clip_cfg)
    cfg['vision_cfg']['image_size'] = size
    return cfg


@dataclass
class BenchmarkContext:
    """Settings of one benchmark run, handed to every section (picklable, so that a section can
    re-create it in a fresh process to measure memory).

    Args:
        model: open_clip model name (``'ViT-B-16'``) or ``'tiny'``.
        device: ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        sizes: input sizes of the backbone section (px); the smallest is the pretraining
            resolution, the largest the segmentation one.
        batch_size: images per batch of the training steps and the backbone forward.
        repeats: timed calls of each measured function (the median is reported).
        warmup: untimed calls first.
        amp: run the AMP pretraining section (CUDA only).
        configs_dir: the ``configs/`` folder whose model and pipeline configs are measured.
        threads: torch CPU threads of this run (and of its memory-measuring subprocesses).
    """
    model: str
    device: str
    sizes: List[int]
    batch_size: int
    repeats: int
    warmup: int
    amp: bool
    configs_dir: str
    threads: int
    world_dir: Optional[str] = None
    _own_world: bool = field(default=False, repr=False)

    @property
    def clip_cfg(self) -> dict:
        """The open_clip config of ``model`` (a fresh copy)."""
        return clip_config(self.model)

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    @property
    def clock(self) -> Clock:
        return Clock(self.torch_device)

    @property
    def train_size(self) -> int:
        """Pretraining resolution: the smallest of ``sizes``."""
        return min(self.sizes)

    @property
    def seg_size(self) -> int:
        """Segmentation inference resolution: the largest of ``sizes``."""
        return max(self.sizes)

    def config(self, rel_path: str) -> Config:
        """A config of ``configs_dir``, e.g. ``'_base_/models/umg_clip_pretrain_vit-b16.py'``."""
        path = osp.join(self.configs_dir, rel_path)
        if not osp.isfile(path):
            raise FileNotFoundError(f'config {path} not found; pass the repository\'s configs '
                                    f'folder (tools/benchmark.py finds it next to tools/)')
        return Config.fromfile(path)

    def world(self) -> str:
        """Folder of a small synthetic world (``WORLD_IMAGES`` train images at the pretraining
        resolution, no held-out classes), written once per run in a temporary folder."""
        if self.world_dir is None:
            from umg_mm.datasets.synthetic import SyntheticWorldConfig, generate_synthetic_world
            parent = tempfile.mkdtemp(prefix='umg_bench_')
            self.world_dir = osp.join(parent, 'world')
            self._own_world = True
            generate_synthetic_world(self.world_dir, SyntheticWorldConfig(
                num_train=max(WORLD_IMAGES, self.batch_size), num_val=1, num_dev=0,
                image_size=max(32, self.train_size), held_out_things=[], held_out_stuff=[]))
        return self.world_dir

    def cleanup(self) -> None:
        """Delete the synthetic world this run wrote."""
        if self._own_world and self.world_dir is not None:
            shutil.rmtree(osp.dirname(self.world_dir), ignore_errors=True)
            self.world_dir = None
            self._own_world = False
