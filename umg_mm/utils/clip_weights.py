"""Refusing, before anything is built, to train CLIP towers that would start from random weights.

A frozen tower with random weights trains a head on noise without any error, so
``tools/train.py`` calls :func:`check_clip_weights` on the config first: every UMG-CLIP tower
(``UMGCLIPBackbone``, ``UMGCLIPTextEncoder``) of ``cfg.model`` must have a source of weights,
or say that it starts from random weights on purpose with ``checkpoint='random'``. A model that
names the CLIP weights of both its towers once, in ``model.clip=dict(model_name=...,
checkpoint=...)``, gives them to every tower it holds.
"""
from typing import Iterator, Optional, Tuple

from mmengine.config import Config

#: the registered names of the towers that hold CLIP weights
TOWER_TYPES = ('UMGCLIPBackbone', 'UMGCLIPTextEncoder')
#: ``checkpoint=RANDOM_INIT`` on a tower: no weights, on purpose (from-scratch recipes, tests)
RANDOM_INIT = 'random'


def _towers(node, key: str,
            clip: Tuple[Optional[str], dict] = (None, {})) -> Iterator[Tuple[str, dict, tuple]]:
    """Yield ``(config key, tower config, (clip key, clip config))`` for every tower under
    ``node``; the clip is that of the nearest model above with ``clip=dict(...)``."""
    if isinstance(node, dict):
        if isinstance(node.get('clip'), dict):
            clip = (f'{key}.clip', node['clip'])
        if str(node.get('type', '')).split('.')[-1] in TOWER_TYPES:
            yield key, node, clip
        for name, value in node.items():
            yield from _towers(value, f'{key}.{name}', clip)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _towers(value, f'{key}.{i}', clip)


def _has_weights(tower: dict) -> bool:
    init_cfgs = tower.get('init_cfg') or []
    init_cfgs = init_cfgs if isinstance(init_cfgs, (list, tuple)) else [init_cfgs]
    return bool(tower.get('checkpoint') or tower.get('pretrained') or
                any(cfg.get('checkpoint') for cfg in init_cfgs))


def check_clip_weights(cfg: Config) -> None:
    """Raise if a CLIP tower of ``cfg.model`` would train from random weights unasked.

    A tower has weights when its ``checkpoint`` names a file, its ``pretrained`` an open_clip
    tag or a file, its ``init_cfg`` a checkpoint, or (for the backbone of an mmseg
    ``EncoderDecoder``) the model-level ``pretrained`` is set; or when the run loads a checkpoint
    (``load_from``, ``resume``); or when the model holding it has ``clip`` with one of those.
    ``checkpoint='random'`` starts a tower from random weights on purpose (the from-scratch
    recipes).

    Raises:
        ValueError: naming the config file, the tower's key and the keys that give it weights.
    """
    if cfg.get('load_from') or cfg.get('resume'):
        return
    model = cfg.get('model') or {}
    for key, tower, (clip_key, clip) in _towers(model, 'model'):
        if _has_weights(tower) or _has_weights(clip) or \
                (key == 'model.backbone' and model.get('pretrained')):
            continue
        if clip_key is not None:  # the one place that names both towers' weights
            raise ValueError(
                f'config {cfg.filename}: {clip_key} gives no weights, so {key} '
                f'({tower["type"]}) would train from random CLIP weights. Give them with '
                f'--cfg-options {clip_key}.checkpoint=<UMG-CLIP or open_clip file> (or '
                f'{clip_key}.pretrained=<open_clip tag>), or load_from=<a checkpoint holding the '
                f"towers>; to start from random weights on purpose, set "
                f"{clip_key}.checkpoint='random'.")
        raise ValueError(
            f'config {cfg.filename}: {key} ({tower["type"]}) would train from random CLIP '
            f'weights. Give it weights with --cfg-options {key}.checkpoint=<UMG-CLIP or open_clip '
            f'file> (or {key}.pretrained=<open_clip tag>), or load_from=<a checkpoint holding the '
            f"towers>; to start from random weights on purpose, set {key}.checkpoint='random'.")
