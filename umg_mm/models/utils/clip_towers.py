"""One place to name the CLIP model and weights that both UMG-CLIP towers start from.

A model (segmentor, detector, zero-shot classifier, pretrainer) takes
``clip=dict(model_name=..., checkpoint=...)`` and fills it into its visual backbone
(``UMGCLIPBackbone``) and its text tower (``UMGCLIPTextEncoder``), which it owns as
``backbone`` and ``text_encoder``: the same key prefixes in every task.
"""
from typing import Dict, Optional

from mmengine.logging import MMLogger
from torch import nn

#: the keys of ``clip=dict(...)``: the architecture (an open_clip name or config) and its weights
CLIP_KEYS = ('model_name', 'model_cfg', 'pretrained', 'checkpoint', 'checkpoint_prefix')


def with_clip(clip: Optional[dict], towers: Dict[str, dict]) -> Dict[str, dict]:
    """The tower configs with the model-level ``clip`` filled in.

    Args:
        clip: ``dict(model_name=..., checkpoint=...)`` (keys :data:`CLIP_KEYS`), or ``None``
            for towers that name their own model and weights.
        towers: ``{config key: tower config}``, e.g. ``{'backbone': ..., 'text_encoder': ...}``.

    Returns:
        ``{config key: tower config with clip's keys}`` (new dicts).

    Raises:
        ValueError: ``clip`` has an unknown key, or a tower names a key ``clip`` names too.
    """
    if clip is None:
        return {name: dict(tower) for name, tower in towers.items()}
    unknown = sorted(set(clip) - set(CLIP_KEYS))
    if unknown:
        raise ValueError(f'model.clip has unknown keys {unknown}; it takes {list(CLIP_KEYS)}')
    filled = {}
    for name, tower in towers.items():
        twice = sorted(set(clip) & set(tower))
        if twice:
            raise ValueError(
                f'model.clip and model.{name} both set {twice}: the CLIP model and weights are '
                f'named once, in model.clip; remove {[f"model.{name}.{k}" for k in twice]}')
        filled[name] = dict(tower, **clip)
    return filled


def checkpoint_logit_scale(text_encoder: nn.Module, enabled: bool) -> Optional[float]:
    """The scale ``exp(logit_scale)`` of the CLIP weights the text tower loaded, to start a
    model's temperatures from (a model's ``logit_scale_from_checkpoint``).

    Args:
        text_encoder: the model's ``UMGCLIPTextEncoder`` (built, weights loaded).
        enabled: the model's switch.

    Returns:
        The scale, or ``None`` when the switch is off or the tower's ``logit_scale`` came from no
        weights (random towers, or a file without it): the configured temperatures then.
    """
    if not enabled or not getattr(text_encoder, 'logit_scale_loaded', False):
        return None
    return float(text_encoder.logit_scale.detach().exp().flatten()[0])


def start_classifier_logit_scale(model: nn.Module, classifier: nn.Module, text_encoder: nn.Module,
                                 enabled: bool) -> None:
    """Start an ``OpenVocabClassifier``'s logit scale from the loaded CLIP's
    (:func:`checkpoint_logit_scale`), else keep its ``logit_scale_init``; log one line naming
    ``model``'s class and the value used."""
    scale = checkpoint_logit_scale(text_encoder, enabled)
    if scale is not None:
        classifier.set_logit_scale(scale)
    MMLogger.get_current_instance().info(
        f'{type(model).__name__}: the classifier logit scale starts at '
        f'{classifier.initial_logit_scale if scale is None else scale:.4g} '
        f'({"the CLIP checkpoint" if scale is not None else "logit_scale_init"})')
