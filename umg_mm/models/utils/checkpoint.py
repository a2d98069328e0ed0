"""Load one tower's weights from an open_clip or a umg_mm (mmengine) checkpoint file.

A checkpoint may hold a whole open_clip model (keys ``visual.*``, ``transformer.*``, ...), a
umg_mm/mmengine training checkpoint (``state_dict`` with the tower under a prefix such as
``backbone.``), or the output of ``tools/convert_open_clip.py``. PEFT (LoRA) weights may be merged
(plain keys) or kept apart (peft's ``base_layer``/``lora_A``/``lora_B`` keys). Keys are matched
after removing peft's ``.base_layer`` segments, so plain weights load into a LoRA-wrapped tower and
the base weights of a LoRA checkpoint load into a plain one; adapters kept apart need a tower built
with the same LoRA config (their scaling is not in the file).

Every load is reported (loaded, missing, unexpected, ignored keys) through the MMEngine logger; a
shape mismatch is an error naming the key. :func:`lora_state_dict` extracts the adapters alone
(a small file to share); such a file loads on top of the base weights.
"""
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import MMLogger
from open_clip.factory import load_state_dict as open_clip_load_state_dict
from torch import nn

from umg_mm.utils.checkpoint_files import is_torchscript_archive, load_torchscript
from umg_mm.utils.clip_weights import RANDOM_INIT

LORA_MARKERS = ('lora_A', 'lora_B', 'lora_embedding_A', 'lora_embedding_B', 'lora_magnitude')


def checkpoint_files(checkpoint: Optional[Union[str, Sequence[str]]]) -> List[str]:
    """The files a tower's ``checkpoint`` argument names, in loading order (none for ``None``
    and for :data:`RANDOM_INIT`)."""
    if checkpoint is None or checkpoint == RANDOM_INIT:
        return []
    return [checkpoint] if isinstance(checkpoint, str) else list(checkpoint)


def canonical_key(key: str) -> str:
    """The key without peft's ``.base_layer`` segments (what a merged checkpoint calls it)."""
    return key.replace('.base_layer', '')


def is_lora_key(key: str) -> bool:
    """Whether ``key`` names a LoRA adapter tensor kept apart from its base weight."""
    return any(f'.{marker}.' in key for marker in LORA_MARKERS)


@dataclass
class LoadReport:
    """What a checkpoint load did; ``str(report)`` is the logged summary."""
    file: str
    prefix: str
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    ignored: int = 0

    def __str__(self) -> str:
        lines = [f'loaded {len(self.loaded)} tensors from {self.file} (prefix {self.prefix!r}); '
                 f'{len(self.missing)} missing, {len(self.unexpected)} unexpected']
        if self.missing:
            lines.append(f'not in the checkpoint, left unchanged '
                         f'({len(self.missing)}): {self.missing}')
        if self.unexpected:
            lines.append(f'unexpected, not loaded ({len(self.unexpected)}): {self.unexpected}')
        if self.ignored:
            lines.append(f'{self.ignored} keys outside this tower (other tower, heads, logit '
                         f'scale) ignored')
        return '\n'.join(lines)


def read_state_dict(path: str, trust_torchscript: bool = False) -> Dict[str, torch.Tensor]:
    """Read a state dict from an open_clip file (.pt/.pth/.bin/.safetensors) or an mmengine one.

    Uses open_clip's reader (``state_dict`` unwrapping, ``module.`` stripping, safetensors), with
    ``weights_only=True``; mmengine's own checkpoint globals are allow-listed by ``import umg_mm``.
    A TorchScript archive (OpenAI's CLIP files) runs its code when loaded: it is refused unless
    ``trust_torchscript`` is True (``tools/convert_open_clip.py --trust-torchscript``).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file {path!r} does not exist')
    if is_torchscript_archive(path):
        scripted = load_torchscript(path, trust=trust_torchscript)
        state_dict = {k: v for k, v in scripted.state_dict().items()
                      if k not in ('input_resolution', 'context_length', 'vocab_size')}
    else:
        state_dict = open_clip_load_state_dict(path, device='cpu', weights_only=True)
    if not isinstance(state_dict, dict) or not state_dict:
        raise ValueError(f'{path!r} holds no state dict (found {type(state_dict).__name__})')
    return state_dict


def find_prefix(state_dict: Dict[str, torch.Tensor], anchor: str, path: str,
                own_roots: tuple = ()) -> str:
    """The prefix under which ``anchor`` (e.g. ``'visual.conv1.weight'``) sits in ``state_dict``.

    A file without ``anchor`` whose keys all start with one of ``own_roots`` (a LoRA adapters
    file) has the prefix ``''``.
    """
    candidates = set()
    for key in state_dict:
        key = canonical_key(key)
        if key == anchor or key.endswith('.' + anchor):
            candidates.add(key[:-len(anchor)])
    candidates = sorted(candidates)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates and own_roots and all(k.split('.', 1)[0] in own_roots for k in state_dict):
        return ''
    if not candidates:
        raise KeyError(
            f'{path!r} has no key ending in {anchor!r}, so it does not hold this tower. Its first '
            f'keys are {list(state_dict)[:5]}. Pass an open_clip checkpoint, a umg_mm checkpoint, '
            f'or the output of tools/convert_open_clip.py.')
    raise KeyError(f'{path!r} holds {anchor!r} under several prefixes {candidates}; choose one '
                   f'with prefix=... (init_cfg=dict(type="Pretrained", checkpoint=..., '
                   f'prefix=...))')


def load_tower_state(module: nn.Module, path: str, anchor: str, prefix: Optional[str] = None,
                     own_roots: tuple = (), module_prefix: str = '',
                     logger_name: str = 'current') -> LoadReport:
    """Load the weights of ``module`` from ``path``.

    Args:
        module: the tower wrapper (e.g. the backbone); its ``state_dict`` names are the targets.
        path: the checkpoint file.
        anchor: a key of ``module.state_dict()`` that every checkpoint of this tower has (e.g.
            ``'visual.conv1.weight'``); it locates the prefix when ``prefix`` is None.
        prefix: the prefix of ``module``'s keys in the file (``'backbone.'`` in an mmdet or mmseg
            checkpoint, ``''`` in an open_clip one). ``None`` finds it from ``anchor``.
        own_roots: first key segments that belong to ``module`` (``('visual',)``):
            a key under the prefix and one of these roots that ``module`` lacks is unexpected; any
            other key is ignored (it belongs to the other tower or to a head).
        module_prefix: the part of ``module``'s own key names that the checkpoint does not
            have (``'clip.'`` for the text encoder, whose open_clip model sits in ``.clip``).
        logger_name: the MMLogger to report through.

    Returns:
        The :class:`LoadReport`, also logged.

    Raises:
        ValueError: a tensor's shape differs from the module's (the key and both shapes named),
            or the file holds LoRA adapters kept apart and ``module`` has no such adapters.
    """
    state_dict = read_state_dict(path)
    if prefix is None:
        prefix = find_prefix(state_dict, anchor, path, own_roots)
    targets = {canonical_key(k)[len(module_prefix):]: k for k in module.state_dict()
               if k.startswith(module_prefix)}
    report = LoadReport(file=path, prefix=prefix)
    to_load = {}
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            report.ignored += 1
            continue
        name = canonical_key(key[len(prefix):])
        if name not in targets:
            if name.split('.', 1)[0] in own_roots:
                report.unexpected.append(name)
            else:
                report.ignored += 1
            continue
        to_load[name] = value
    _adapt_state(module, to_load)
    own_state = module.state_dict()
    lora_apart = [n for n in report.unexpected if is_lora_key(n)]
    if lora_apart:
        raise ValueError(
            f'{path!r} holds LoRA adapters kept apart ({len(lora_apart)} tensors, e.g. '
            f'{lora_apart[0]!r}) but this tower has no such adapters. Build it with the same '
            f'lora=dict(r=..., alpha=..., target_modules=...) as the checkpoint was trained with, '
            f'or export merged weights first (see docs/model_core.md, "PEFT").')
    for name, value in to_load.items():
        target = own_state[targets[name]]
        if tuple(value.shape) != tuple(target.shape):
            raise ValueError(
                f'shape mismatch for {prefix}{name} in {path!r}: the checkpoint has '
                f'{tuple(value.shape)}, the model expects {tuple(target.shape)}. The checkpoint '
                f'was made for another architecture; build the model with the open_clip model_name '
                f'or model_cfg that produced it.')
    result = module.load_state_dict({targets[n]: v for n, v in to_load.items()}, strict=False)
    report.loaded = sorted(to_load)
    report.missing = sorted(canonical_key(k)[len(module_prefix):] for k in result.missing_keys
                            if k.startswith(module_prefix))
    logger = MMLogger.get_current_instance() if logger_name == 'current' else \
        MMLogger.get_instance(logger_name)
    logger.info(f'{type(module).__name__}: {report}')
    return report


def _adapt_state(module: nn.Module, state: Dict[str, torch.Tensor]) -> None:
    """Let the module adapt the checkpoint before loading (e.g. resize positional embeddings)."""
    adapt = getattr(module, 'adapt_checkpoint_state', None)
    if adapt is not None:
        adapt(state)


def lora_state_dict(module: nn.Module) -> Dict[str, torch.Tensor]:
    """The LoRA adapter tensors of ``module`` alone (keys as in ``module.state_dict()``)."""
    return {k: v for k, v in module.state_dict().items() if is_lora_key(k)}


def map_legacy_keys(model: nn.Module, renames: Sequence[Tuple[str, str]],
                    old_wins: bool = False) -> None:
    """Load checkpoints written before a key layout changed into ``model``.

    Registers a ``load_state_dict`` pre-hook on ``model`` (it runs under ``torch``'s and
    mmengine's loaders alike) that renames each key starting with an old prefix to the new
    prefix. A tensor stored twice in the old layout (the text tower once under
    ``text_encoder.`` and once inside a head) is kept once: the new key's tensor wins, unless
    ``old_wins`` (the old key held the value that was trained). One log line says how many keys
    were mapped.

    Args:
        model: the root model (its keys are the checkpoint's keys).
        renames: ``(old prefix, new prefix)`` pairs, e.g.
            ``('panoptic_head.cls_embed.text_encoder.', 'text_encoder.')``.
        old_wins: where both keys are in a checkpoint, keep the old key's tensor.
    """
    def hook(state_dict, prefix, *args):
        mapped = 0
        for old, new in renames:
            old, new = prefix + old, prefix + new
            for key in [k for k in state_dict if k.startswith(old)]:
                value = state_dict.pop(key)
                if old_wins:
                    state_dict[new + key[len(old):]] = value
                else:
                    state_dict.setdefault(new + key[len(old):], value)
                mapped += 1
        if mapped:
            MMLogger.get_current_instance().info(
                f'{type(model).__name__}: mapped {mapped} keys of a checkpoint written before '
                f'the layout change ({", ".join(f"{o}* -> {n}*" for o, n in renames)})')

    model._register_load_state_dict_pre_hook(hook)
