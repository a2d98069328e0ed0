"""Convert between open_clip's checkpoint layout and umg_mm's (mmengine) one.

open_clip keeps one flat state dict: the vision tower under ``visual.``, the text tower at the
root (``transformer.``, ``token_embedding.``, ...; ``text.`` for custom text towers) with
``logit_scale``. A umg_mm model holds the vision tower in ``backbone`` (a
:class:`~umg_mm.models.backbones.UMGCLIPBackbone`, keys ``backbone.visual.*``) and the text tower
in ``text_encoder`` (a :class:`~umg_mm.models.text.UMGCLIPTextEncoder`, keys
``text_encoder.clip.*``), inside mmengine's ``{'meta': ..., 'state_dict': ...}``. Both directions
are pure key renames, so a round trip gives back the same tensors under the same names.
"""
from typing import Dict, Tuple

import torch

from .checkpoint import canonical_key, is_lora_key

TEXT_MODULE = 'clip.'  # where UMGCLIPTextEncoder keeps the open_clip model


def open_clip_to_umg(state_dict: Dict[str, torch.Tensor], backbone_prefix: str = 'backbone.',
                     text_prefix: str = 'text_encoder.') -> Dict[str, torch.Tensor]:
    """Rename an open_clip state dict to umg_mm's layout (``visual.*`` -> backbone, rest -> text).

    Args:
        state_dict: an open_clip model's state dict.
        backbone_prefix: the backbone's attribute path in the umg_mm model, with a dot.
        text_prefix: the text encoder's attribute path in the umg_mm model, with a dot.

    Returns:
        The renamed state dict, in the same order.
    """
    if not any(k.startswith('visual.') for k in state_dict):
        raise KeyError(f'not an open_clip state dict: no "visual." keys (first keys: '
                       f'{list(state_dict)[:5]})')
    return {(backbone_prefix + k if k.startswith('visual.') else text_prefix + TEXT_MODULE + k): v
            for k, v in state_dict.items()}


def umg_to_open_clip(state_dict: Dict[str, torch.Tensor], backbone_prefix: str = 'backbone.',
                     text_prefix: str = 'text_encoder.'
                     ) -> Tuple[Dict[str, torch.Tensor], int]:
    """Rename a umg_mm state dict back to open_clip's layout.

    Keys outside the two towers (heads, the pyramid neck, losses) are dropped; peft's
    ``.base_layer`` segments are removed. LoRA adapters kept apart cannot be expressed in
    open_clip's layout: merge them first (``merge_lora()`` on the towers, or
    ``tools/convert_open_clip.py --lora-r``).

    Returns:
        The open_clip state dict and the number of dropped keys.
    """
    text_root = text_prefix + TEXT_MODULE
    lora = [k for k in state_dict if is_lora_key(k) and k.startswith((backbone_prefix + 'visual.',
                                                                      text_root))]
    if lora:
        raise ValueError(f'the checkpoint holds {len(lora)} LoRA adapter tensors kept apart '
                         f'(e.g. {lora[0]!r}); merge them before converting to open_clip '
                         f'(tools/convert_open_clip.py ... --model-name NAME --lora-r R '
                         f'--lora-alpha A)')
    converted, dropped = {}, 0
    for key, value in state_dict.items():
        if key.startswith(backbone_prefix + 'visual.'):
            converted[canonical_key(key[len(backbone_prefix):])] = value
        elif key.startswith(text_root):
            converted[canonical_key(key[len(text_root):])] = value
        else:
            dropped += 1
    if not any(k.startswith('visual.') for k in converted):
        raise KeyError(f'no "{backbone_prefix}visual." keys found; pass the prefix of the '
                       f'backbone in this checkpoint (--backbone-prefix)')
    return converted, dropped
