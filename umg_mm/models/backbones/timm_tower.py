"""Read-outs of open_clip vision towers built from timm (EVA02-*, ...), for UMGCLIPBackbone.

open_clip builds these towers as ``TimmModel``: a timm trunk (``visual.trunk``, e.g. timm's
``Eva``) whose classifier head is the projection to the joint space (or an extra ``visual.head``).
open_clip creates the trunk for its configured image size only; :func:`make_dynamic` rebuilds it
with timm's ``dynamic_img_size=True`` (timm then resamples absolute and rotary position embeddings
for each input size) and copies the weights over, so the tower is the same at the native size and
works at any size.
"""
from typing import Dict, List, Sequence, Tuple

import torch
from open_clip.timm_model import TimmModel
from torch import nn

#: LoRA targets of timm ViT/EVA blocks (fused or separate q/k/v, output projection, MLP or SwiGLU)
TIMM_LORA_TARGETS = ('attn.qkv', 'attn.q_proj', 'attn.k_proj', 'attn.v_proj', 'attn.proj',
                     'mlp.fc1', 'mlp.fc2', 'mlp.fc1_g', 'mlp.fc1_x')
_HEAD_PARTS = ('blocks', 'norm', 'fc_norm', 'head_drop', 'head')


def is_timm_tower(visual: nn.Module) -> bool:
    return isinstance(visual, TimmModel)


def make_dynamic(visual: TimmModel, name: str) -> None:
    """Rebuild ``visual.trunk`` with ``dynamic_img_size=True`` and the same weights, in place."""
    import timm
    trunk = visual.trunk
    needed = ('blocks', 'patch_embed', 'forward_intermediates', 'fc_norm', 'head', 'head_drop')
    pool = getattr(trunk, 'global_pool', None)
    if not all(hasattr(trunk, a) for a in needed) or pool not in ('token', 'avg'):
        raise NotImplementedError(
            f'{name} has a timm {type(trunk).__name__} trunk (global_pool={pool!r}); '
            f'UMGCLIPBackbone reads out timm ViT/EVA trunks with token or average pooling.')
    try:
        dynamic = timm.create_model(trunk.default_cfg['architecture'],
                                    num_classes=trunk.num_classes, global_pool=pool,
                                    dynamic_img_size=True,
                                    img_size=trunk.patch_embed.img_size)
    except TypeError as err:
        raise NotImplementedError(f'timm cannot build {name}\'s trunk for any input size '
                                  f'(dynamic_img_size): {err}') from err
    dynamic.load_state_dict(trunk.state_dict())
    visual.trunk = dynamic


def tokens(visual: TimmModel, x: torch.Tensor, indices: Sequence[int]
           ) -> Tuple[torch.Tensor, Dict[int, torch.Tensor]]:
    """Final normed tokens ``(B, P + h*w, C)`` and ``{block: output tokens}`` (prefix first)."""
    trunk = visual.trunk
    taken = sorted(set(i for i in indices if i >= 0))
    if not taken:
        return trunk.forward_features(x), {}
    final, intermediates = trunk.forward_intermediates(
        x, indices=taken, return_prefix_tokens=True, norm=False, output_fmt='NLC')
    by_index = {i: torch.cat([prefix, spatial], dim=1)
                for i, (spatial, prefix) in zip(taken, intermediates)}
    return final, by_index


def global_embedding(visual: TimmModel, final: torch.Tensor) -> torch.Tensor:
    """What ``visual(x)`` returns, from the trunk's final tokens."""
    return visual.head(visual.trunk.forward_head(final))


def to_joint(visual: TimmModel, spatial: torch.Tensor) -> torch.Tensor:
    """Each patch token through the pooled path's norm and projections: ``(B, N, D)``."""
    trunk = visual.trunk
    return visual.head(trunk.head(trunk.head_drop(trunk.fc_norm(spatial))))


def stages(visual: TimmModel) -> List[List]:
    """Embedding, each block, head (the freezing stages)."""
    trunk = visual.trunk
    embed = [m for n, m in trunk.named_children() if n not in _HEAD_PARTS]
    embed += [p for _, p in trunk.named_parameters(recurse=False)]
    return ([embed] + [[block] for block in trunk.blocks] +
            [[trunk.norm, trunk.fc_norm, trunk.head, visual.head]])
