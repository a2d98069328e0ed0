"""FSDP of the CLIP towers for mmengine's ``FSDPStrategy``: one unit per transformer block
(open_clip's ``ResidualAttentionBlock``, timm's ViT and EVA blocks), so a rank gathers one
block's parameters at a time, and a wrapper that accepts open_clip's 0-d ``logit_scale``.

    runner_type = 'FlexibleRunner'
    strategy = dict(type='FSDPStrategy', model_wrapper=dict(
        type='CLIPFullyShardedDataParallel',
        auto_wrap_policy=dict(type='clip_block_wrap_policy')))
"""
from functools import partial

from mmengine.model import MMFullyShardedDataParallel
from mmengine.registry import FUNCTIONS, MODEL_WRAPPERS
from open_clip.transformer import ResidualAttentionBlock
from timm.models.eva import EvaBlock, EvaBlockPostNorm
from timm.models.vision_transformer import Block
from torch import nn
from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy

#: the transformer blocks of the towers umg_mm builds
CLIP_BLOCKS = {ResidualAttentionBlock, EvaBlock, EvaBlockPostNorm, Block}

clip_block_wrap_policy = FUNCTIONS.register_module(
    name='clip_block_wrap_policy',
    module=partial(transformer_auto_wrap_policy, transformer_layer_cls=CLIP_BLOCKS))


def _scalar_out(name, module, state_dict, prefix, local_metadata):
    """State-dict hook: the 1-element parameter ``name`` saved as the 0-d tensor it was."""
    key = prefix + name
    if key in state_dict and state_dict[key].numel() == 1:
        state_dict[key] = state_dict[key].reshape(())


def _vector_in(name, state_dict, prefix, *args):
    """Load pre-hook: a saved 0-d ``name`` loaded into its 1-element parameter."""
    key = prefix + name
    if key in state_dict and state_dict[key].dim() == 0:
        state_dict[key] = state_dict[key].reshape(1)


@MODEL_WRAPPERS.register_module()
class CLIPFullyShardedDataParallel(MMFullyShardedDataParallel):
    """mmengine's FSDP wrapper for the UMG-CLIP towers.

    * FSDP refuses 0-d parameters (open_clip's ``logit_scale``): each becomes a 1-element
      vector before wrapping (it broadcasts as the scalar did); checkpoints keep the 0-d layout
      (state-dict hooks), so they load into the unwrapped model and from open_clip files alike.
    * FSDP puts its own views of the parameters in place at each unit's forward, undoing the
      text encoder's cut of prompts after their longest one (``functional_call`` with a
      shortened positional embedding): under FSDP prompts run at the full context length
      (the same features, more compute).

    Args:
        module: the model.
        **kwargs: ``MMFullyShardedDataParallel``'s (``auto_wrap_policy``, ``mixed_precision``,
            ...).
    """

    def __init__(self, module: nn.Module, **kwargs):
        for owner in module.modules():
            for name, param in list(owner._parameters.items()):
                if param is not None and param.dim() == 0:
                    owner._parameters[name] = nn.Parameter(
                        param.detach().reshape(1), requires_grad=param.requires_grad)
                    owner._register_state_dict_hook(partial(_scalar_out, name))
                    owner._register_load_state_dict_pre_hook(partial(_vector_in, name))
            if hasattr(owner, '_cut_prefix'):  # UMGCLIPTextEncoder: no cut
                owner._cut_prefix = lambda: None
        super().__init__(module=module, **kwargs)


__all__ = ['CLIPFullyShardedDataParallel', 'CLIP_BLOCKS', 'clip_block_wrap_policy']
