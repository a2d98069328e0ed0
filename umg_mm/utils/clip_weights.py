"""Refusing, before anything is built, to train CLIP towers that would start from random weights.

A frozen tower with random weights trains a head on noise without any error, so
``tools/train.py`` calls :func:`check_clip_weights` on the config first: every UMG-CLIP tower
(``UMGCLIPBackbone``, ``UMGCLIPTextEncoder``) of ``cfg.model`` must have a source of weights,
or say that it starts from random weights on purpose with ``checkpoint='random'``.
"""
from typing import Iterator, Tuple

from mmengine.config import Config

#: the registered names of the towers that hold CLIP weights
TOWER_TYPES = ('UMGCLIPBackbone', 'UMGCLIPTextEncoder')
#: ``checkpoint=RANDOM_INIT`` on a tower: no weights, on purpose (from-scratch recipes, tests)
RANDOM_INIT = 'random'


def _towers(node, key: str) -> Iterator[Tuple[str, dict]]:
    """Yield ``(config key, tower config)`` for every tower under ``node``."""
    if isinstance(node, dict):
        if str(node.get('type', '')).split('.')[-1] in TOWER_TYPES:
            yield key, node
        for name, value in node.items():
            yield from _towers(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _towers(value, f'{key}.{i}')


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
    (``load_from``, ``resume``). ``checkpoint='random'`` starts a tower from random weights on
    purpose (the from-scratch recipes).

    Raises:
        ValueError: naming the config file, the tower's key and the keys that give it weights.
    """
    if cfg.get('load_from') or cfg.get('resume'):
        return
    model = cfg.get('model') or {}
    for key, tower in _towers(model, 'model'):
        if _has_weights(tower) or (key == 'model.backbone' and model.get('pretrained')):
            continue
        raise ValueError(
            f'config {cfg.filename}: {key} ({tower["type"]}) would train from random CLIP '
            f'weights. Give it weights with --cfg-options {key}.checkpoint=<UMG-CLIP or open_clip '
            f'file> (or {key}.pretrained=<open_clip tag>), or load_from=<a checkpoint holding the '
            f"towers>; to start from random weights on purpose, set {key}.checkpoint='random'.")
