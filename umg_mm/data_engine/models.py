"""The models stages run, built once per process and shared by the stages that name the same
config, checkpoint and options (the panoptic model that detects also segments)."""
import json
import os.path as osp
from functools import lru_cache
from typing import Optional

from mmengine.config import Config
from mmengine.utils import get_installed_path


def config_path(config: str) -> str:
    """The file of a config: ``<package>::<path>`` names one an installed OpenMMLab package
    ships (``mmdet::mask2former/...py`` -> ``<mmdet>/.mim/configs/mask2former/...py``)."""
    if '::' not in config:
        return config
    package, path = config.split('::', 1)
    return osp.join(get_installed_path(package), '.mim', 'configs', path)


def _config(config: str, cfg_options: Optional[dict]) -> Config:
    cfg = Config.fromfile(config_path(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def freeze(options: Optional[dict]) -> str:
    """A hashable form of a stage's config options (the model cache's key)."""
    return json.dumps(options or {}, sort_keys=True)


@lru_cache(maxsize=None)
def umg_inferencer(config: str, checkpoint: Optional[str], device: str, options: str):
    """A :class:`~umg_mm.apis.UMGInferencer` (``options``: :func:`freeze`-d config options)."""
    from umg_mm.apis import UMGInferencer
    return UMGInferencer(_config(config, json.loads(options)), checkpoint, device=device)


@lru_cache(maxsize=None)
def det_inferencer(config: str, checkpoint: Optional[str], device: str, options: str):
    """mmdet's ``DetInferencer`` on a config file (``mmdet::...`` names the installed package's
    configs) and checkpoint."""
    from mmdet.apis import DetInferencer
    return DetInferencer(_config(config, json.loads(options)), checkpoint, device=device,
                         show_progress=False)


@lru_cache(maxsize=None)
def caption_inferencer(config: str, checkpoint: Optional[str], device: str, options: str):
    """mmpretrain's ``ImageCaptionInferencer`` (BLIP-class captioners), its pipeline built in
    mmpretrain's scope whatever scope the stages before it left."""
    from mmengine.registry import init_default_scope
    from mmpretrain.apis import ImageCaptionInferencer
    init_default_scope('mmpretrain')
    return ImageCaptionInferencer(_config(config, json.loads(options)), checkpoint,
                                  device=device)
