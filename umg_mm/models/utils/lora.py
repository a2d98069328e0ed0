"""LoRA on an open_clip tower through the ``peft`` library.

``peft.inject_adapter_in_model`` wraps the target modules in place (no ``PeftModel`` wrapper, so
the tower keeps its attribute names and mmengine's optimizer, hooks and checkpoints see plain
modules), freezes every base weight and leaves only the adapters trainable.

Targets: open_clip's ``nn.MultiheadAttention`` reads ``out_proj.weight`` directly, so LoRA placed
on ``attn.out_proj`` alone would never receive a gradient. Targeting ``attn`` makes peft wrap the
whole attention (its ``MultiheadAttention`` adapter covers the fused q/k/v input projection and
the output projection); ``c_fc`` and ``c_proj`` are the MLP layers. Those are the defaults.
"""
from typing import Sequence

from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.lora.layer import MultiheadAttention as LoraMultiheadAttention
from peft.tuners.tuners_utils import BaseTunerLayer
from torch import nn

DEFAULT_TARGETS = ('attn', 'c_fc', 'c_proj')


class StableLoraMultiheadAttention(LoraMultiheadAttention):
    """peft's attention adapter, keeping its frozen base weights the same ``Parameter`` objects.

    peft re-registers the base ``in_proj_weight`` and ``out_proj.weight`` as NEW ``Parameter``
    objects on every ``named_modules()`` call (its forward swaps them for plain tensors while it
    merges the adapter in, and this restores them). mmengine's ``BaseModule.init_weights`` tracks
    parameters by identity, so every mmengine model holding such a layer failed to initialise
    ("Find a new Parameter ... during executing the init_weights"). Here they are re-registered
    only when the forward really left plain tensors behind.
    """

    def _restore_weights(self):
        base = self.get_base_layer()
        if isinstance(base.in_proj_weight, nn.Parameter) and isinstance(
                base.out_proj.get_base_layer().weight, nn.Parameter):
            return
        super()._restore_weights()


def apply_lora(module: nn.Module, r: int = 8, alpha: int = 16, dropout: float = 0.0,
               target_modules: Sequence[str] = DEFAULT_TARGETS) -> nn.Module:
    """Inject LoRA adapters into ``module`` in place; only the adapters stay trainable.

    Args:
        module: the tower (e.g. an open_clip ``VisionTransformer``).
        r: rank of each adapter.
        alpha: LoRA scaling numerator (the update is scaled by ``alpha / r``).
        dropout: dropout on the adapter input.
        target_modules: module-name suffixes to adapt (peft's ``target_modules``).

    Returns:
        ``module``, with adapters.
    """
    if r <= 0:
        raise ValueError(f'LoRA rank r must be a positive integer, got r={r}')
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout,
                        target_modules=list(target_modules), bias='none')
    try:
        module = inject_adapter_in_model(config, module)
    except ValueError as err:
        raise ValueError(f'LoRA target_modules={list(target_modules)} match no module of '
                         f'{type(module).__name__} ({err}); open_clip blocks name their layers '
                         f'"attn", "mlp.c_fc" and "mlp.c_proj".') from err
    for layer in module.modules():
        if type(layer) is LoraMultiheadAttention:
            layer.__class__ = StableLoraMultiheadAttention
    return module


def has_lora(module: nn.Module) -> bool:
    """Whether ``module`` holds peft adapters."""
    return any(isinstance(m, BaseTunerLayer) for m in module.modules())


def merge_lora(module: nn.Module) -> nn.Module:
    """Fold every adapter into its base weight and remove peft's wrappers, in place.

    The result has the plain open_clip layout (``attn.in_proj_weight``, ``mlp.c_fc.weight``), so
    its state dict loads into a tower without LoRA, or into open_clip itself.
    """
    for name, child in list(module.named_children()):
        if isinstance(child, BaseTunerLayer):
            if hasattr(child, 'unload_and_optionally_merge_module'):
                base = child.unload_and_optionally_merge_module(
                    merge=True, safe_merge=False, adapter_names=None)
            else:
                child.merge()
                base = child.get_base_layer()
            setattr(module, name, base)
        else:
            merge_lora(child)
    return module


def trainable_summary(module: nn.Module) -> str:
    """``'trainable parameters: N of M (x.xx%)'`` for ``module``."""
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    share = 100.0 * trainable / max(total, 1)
    return f'trainable parameters: {trainable:,} of {total:,} ({share:.2f}%)'
