"""Build an open_clip CLIP model by name or by explicit config, with clear errors offline.

Both UMG-CLIP towers (:class:`~umg_mm.models.backbones.UMGCLIPBackbone` and
:class:`~umg_mm.models.text.UMGCLIPTextEncoder`) start from the full open_clip model that this
module builds, then keep only their own tower. Nothing of CLIP is re-implemented: the model comes
from ``open_clip.create_model`` (by name, optionally with a ``pretrained`` tag) or from open_clip's
``CLIP``/``CustomTextCLIP`` classes fed with an explicit model config dict (the format of
``open_clip/model_configs/*.json``). The tiny models of the tests and of the synthetic world are
shipped as such JSON files and registered with open_clip by name (:data:`NANO_MODEL`,
:data:`TINY_MODEL`).
"""
import logging
from copy import deepcopy
from pathlib import Path
from typing import Optional

import open_clip
from torch import nn


def _check_model_name(model_name: str) -> None:
    if model_name.startswith(('hf-hub:', 'local-dir:')):
        return
    if open_clip.get_model_config(model_name) is None:
        raise ValueError(
            f'model_name={model_name!r} is not an open_clip model name. Use one of '
            f'open_clip.list_models() (e.g. "ViT-B-16", "ViT-L-14", "EVA02-L-14"), or pass an '
            f'explicit open_clip model config as model_cfg=dict(embed_dim=..., vision_cfg=..., '
            f'text_cfg=...).')


def _check_pretrained_tag(model_name: str, tag: str) -> None:
    if not open_clip.get_pretrained_cfg(model_name, tag):
        tags = open_clip.list_pretrained_tags_by_model(model_name)
        raise ValueError(
            f'pretrained={tag!r} is not an open_clip pretrained tag of {model_name!r}; its tags '
            f'are {tags}. A local weights file goes in checkpoint=..., not in pretrained=.')


def build_open_clip(model_name: Optional[str] = None,
                    model_cfg: Optional[dict] = None,
                    pretrained: Optional[str] = None) -> nn.Module:
    """Build a full open_clip model (both towers).

    Args:
        model_name: an open_clip model name (``open_clip.list_models()``), or an
            ``hf-hub:``/``local-dir:`` schema that open_clip understands.
        model_cfg: an explicit open_clip model config (keys ``embed_dim``, ``vision_cfg``,
            ``text_cfg``, optionally ``quick_gelu``, ``custom_text``, ...). Exactly one of
            ``model_name`` and ``model_cfg`` must be given.
        pretrained: an open_clip pretrained tag (e.g. ``'laion2b_s34b_b88k'``) of ``model_name``;
            its weights are downloaded from the hub by open_clip. ``None`` gives random init.

    Returns:
        An ``open_clip.CLIP`` (or ``CustomTextCLIP``) model in fp32 on the CPU.

    Raises:
        ValueError: unknown model name, unknown tag, or both/neither of name and config.
        RuntimeError: the tag's weights could not be downloaded (no route to the hub).
    """
    if (model_name is None) == (model_cfg is None):
        raise ValueError('Give exactly one of model_name (an open_clip model name such as '
                         f'"ViT-B-16") and model_cfg (an open_clip config dict); got '
                         f'model_name={model_name!r}, model_cfg={model_cfg!r}')
    if model_cfg is not None:
        if pretrained is not None:
            raise ValueError('pretrained tags belong to named open_clip models; with an explicit '
                             'model_cfg load weights from a file with checkpoint=... instead.')
        cfg = deepcopy(dict(model_cfg))
        missing = {'embed_dim', 'vision_cfg', 'text_cfg'} - set(cfg)
        if missing:
            raise ValueError(f'model_cfg lacks {sorted(missing)}; an open_clip model config has '
                             f'embed_dim, vision_cfg and text_cfg (see open_clip/model_configs).')
        custom_text = cfg.pop('custom_text', False) or 'hf_model_name' in cfg['text_cfg']
        model_class = open_clip.CustomTextCLIP if custom_text else open_clip.CLIP
        return model_class(**cfg)

    _check_model_name(model_name)
    if pretrained is not None:
        _check_pretrained_tag(model_name, pretrained)
    # open_clip logs a warning for every randomly initialised model; that is what we asked for
    root_logger = logging.getLogger()
    level = root_logger.level
    if pretrained is None:
        root_logger.setLevel(logging.ERROR)
    try:
        return open_clip.create_model(model_name, pretrained=pretrained)
    except RuntimeError as err:
        if model_name.startswith('hf-hub:'):
            raise RuntimeError(
                f'Could not fetch {model_name!r} from the Hugging Face hub: {err}\nWhere the hub '
                f'is unreachable, download the repository (open_clip_config.json and the weights) '
                f'elsewhere and use model_name="local-dir:/path/to/that/folder".') from err
        if pretrained is None:
            raise
        raise RuntimeError(
            f'Could not fetch the open_clip weights {model_name!r} pretrained={pretrained!r}: '
            f'{err}\nThis machine probably cannot reach the model hub. On a machine that can, run '
            f'`python -c "import open_clip; open_clip.create_model(\'{model_name}\', '
            f'pretrained=\'{pretrained}\')"`, copy the downloaded file (see open_clip\'s cache, '
            f'~/.cache/huggingface/hub) here and pass it as checkpoint=<file> with '
            f'pretrained=None.') from err
    finally:
        root_logger.setLevel(level)


#: open_clip model configs shipped with umg_mm (``umg_mm/models/clip_configs/*.json``, open_clip's
#: format), registered by name with ``open_clip.add_model_config`` when umg_mm is imported.
CLIP_CONFIGS_DIR = Path(__file__).resolve().parents[1] / 'clip_configs'
#: 2 blocks, width 64, 32 px, patch 8, joint space 32: the tests' CLIP (builds in milliseconds).
NANO_MODEL = 'umg-vit-nano-8'
#: 3 blocks, width 96, 64 px, patch 8, joint space 64: the synthetic world's CLIP (the one
#: ``configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py`` pretrains).
TINY_MODEL = 'umg-vit-tiny-8'


def register_clip_configs() -> None:
    """Make the shipped model configs known to open_clip by name (once)."""
    if open_clip.get_model_config(TINY_MODEL) is None:
        open_clip.add_model_config(CLIP_CONFIGS_DIR)


register_clip_configs()
