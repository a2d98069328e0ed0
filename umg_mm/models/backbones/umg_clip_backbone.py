"""The UMG-CLIP visual backbone: an open_clip vision tower with global, dense and block outputs.

The tower is open_clip's own ``VisionTransformer`` or, for EVA02 models, the timm trunk open_clip
wraps (see :mod:`.timm_tower`), built by open_clip from a model name or an explicit model config;
this wrapper only chooses what to read out of it:

* ``global``: the image embedding in the joint image-text space, exactly what open_clip's
  ``CLIP.encode_image`` returns for the same weights and input (same modules, same order);
* ``dense``: one embedding per patch in the same joint space, ``(B, embed_dim, H/p, W/p)``;
* ``intermediates``: the outputs of chosen blocks, ``(B, width, H/p, W/p)`` each, which a
  model's neck (:class:`~umg_mm.models.necks.CLIPPyramidNeck`, in the stock ``neck=`` slot) turns
  into a pyramid.

Any input size works: the input is zero-padded on the bottom/right to a multiple of the patch
size, and the positional embeddings are interpolated (bicubic, mmpretrain's
``resize_pos_embed``) to the resulting patch grid when it differs from the pretraining grid.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from open_clip.model import resize_pos_embed as resize_checkpoint_pos_embed
from open_clip.transformer import ResidualAttentionBlock, VisionTransformer
from open_clip.utils import feature_take_indices
from torch import nn

from umg_mm.registry import MODELS
from . import timm_tower
from ..utils import (apply_lora, build_open_clip, checkpoint_files, load_tower_state,
                     lora_state_dict, merge_lora, trainable_summary)

OUT_TYPES = ('global', 'dense', 'intermediates', 'dict')
DENSE_READOUTS = ('tokens', 'value', 'value_block')
#: read-outs that replace the last block's attention by its value path (open_clip blocks only)
VALUE_READOUTS = ('value', 'value_block')
# a ``pretrained`` value with one of these names a file (mmseg's meaning), not an open_clip tag
WEIGHT_FILE_SUFFIXES = ('.pth', '.pt', '.bin', '.safetensors')


@MODELS.register_module()
class UMGCLIPBackbone(BaseModule):
    """UMG-CLIP visual tower (open_clip inside) for mmdet, mmseg and mmpretrain configs.

    Args:
        model_name: open_clip model name (``open_clip.list_models()``), e.g. ``'ViT-B-16'``,
            ``'ViT-L-14'``, ``'EVA02-L-14'``.
            Ignored when ``model_cfg`` is given.
        model_cfg: explicit open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``),
            e.g. a tiny one for tests. Takes precedence over ``model_name``.
        pretrained: open_clip pretrained tag of ``model_name`` (downloaded from the hub by
            open_clip; fails with a clear error where the hub is unreachable). A local file is
            loaded as ``checkpoint`` is (mmseg's ``EncoderDecoder`` hands its model-level
            ``pretrained`` to the backbone); a URL such as mmseg's stock
            ``'open-mmlab://resnet50_v1c'`` names weights of another backbone and is refused.
        checkpoint: a local weights file, or a list of files loaded in order, at construction:
            an open_clip checkpoint, a umg_mm/mmengine checkpoint, the output of
            ``tools/convert_open_clip.py``, or a LoRA adapters file (:meth:`lora_state_dict`)
            on top of base weights; LoRA weights merged or kept apart (see ``lora``).
            ``'random'``: no weights, on purpose (from-scratch recipes); ``tools/train.py``
            refuses a tower with no weights source unless it says so (see
            :func:`umg_mm.utils.clip_weights.check_clip_weights`).
        checkpoint_prefix: prefix of this backbone's keys in ``checkpoint`` (``'backbone.'`` for
            an mmdet/mmseg checkpoint, ``''`` for open_clip); ``None`` finds it.
        out_type: what ``forward`` returns, one of ``'global'``, ``'dense'``,
            ``'intermediates'``, ``'dict'`` (see :meth:`forward`).
        dense_readout: how dense embeddings are read out of the last block: ``'tokens'`` (the
            last block's patch tokens through ``ln_post`` and ``proj``, as the global embedding
            is made from the class token), ``'value'`` (the last block's value path only, without
            query-key mixing, residual or MLP, through ``ln_post`` and ``proj``; MaskCLIP's choice,
            better localised for a CLIP not trained on dense alignment) or ``'value_block'``
            (CLIPSelf's / FineCLIP's: the last block with its attention replaced by the value
            path, residual and MLP kept, ``x + v(x)``, then ``+ mlp(ln_2(.))``, through
            ``ln_post`` and ``proj``). The value read-outs need open_clip's attention blocks.
        out_indices: blocks whose outputs ``'intermediates'`` gives (open_clip's ``indices``:
            negative counts from the end), one per level of the model's neck; default four
            evenly spaced blocks ending with the last ((2, 5, 8, 11) for 12 blocks); ``()``: none
            (a ``'dict'`` output without ``'intermediates'``, as pretraining reads).
        frozen_stages: what is frozen (no gradient, eval mode), with the meaning mmdet's and
            mmseg's backbones give it: ``-1`` nothing, ``0`` the stem (patch embedding: conv1,
            class and positional embeddings, ln_pre), ``k`` the stem and the first ``k`` blocks;
            ``k`` = the number of blocks also freezes the head (ln_post, proj), as mmpretrain's
            ViT freezes its final norm. ``'all'`` (default): the whole tower, whatever its
            depth (the frozen-CLIP recipes).
        lora: LoRA config ``dict(r=8, alpha=16, dropout=0., target_modules=('attn', 'c_fc',
            'c_proj'))`` applied through peft; then only the adapters train. ``None`` disables
            it.
        grad_checkpointing: recompute block activations in the backward pass.
        init_cfg: only ``dict(type='Pretrained', checkpoint=..., prefix=...)`` is accepted; it
            is loaded by :meth:`init_weights` with the same checks as ``checkpoint``. Other
            initialisers would overwrite the CLIP weights and are refused.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-16',
                 model_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 checkpoint: Optional[Union[str, Sequence[str]]] = None,
                 checkpoint_prefix: Optional[str] = None,
                 out_type: str = 'dense',
                 dense_readout: str = 'tokens',
                 out_indices: Optional[Sequence[int]] = None,
                 frozen_stages: Union[int, str] = 'all',
                 lora: Optional[dict] = None,
                 grad_checkpointing: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        _check_init_cfg(init_cfg)
        super().__init__(init_cfg=init_cfg)
        if out_type not in OUT_TYPES:
            raise ValueError(f'out_type={out_type!r}; choose one of {OUT_TYPES}')
        if dense_readout not in DENSE_READOUTS:
            raise ValueError(f'dense_readout={dense_readout!r}; choose one of {DENSE_READOUTS}')
        self.model_name = 'model_cfg' if model_cfg is not None else model_name
        files = checkpoint_files(checkpoint)
        if pretrained is not None and ('://' in pretrained or osp.isfile(pretrained) or
                                       pretrained.endswith(WEIGHT_FILE_SUFFIXES)):
            files = [_pretrained_file(pretrained)] + files
            pretrained = None
        clip = build_open_clip(None if model_cfg is not None else model_name, model_cfg,
                               pretrained)
        visual = clip.visual
        self.is_timm = timm_tower.is_timm_tower(visual)
        if self.is_timm:
            timm_tower.make_dynamic(visual, self.model_name)
            trunk = visual.trunk
            self.patch_size = tuple(trunk.patch_embed.patch_size)
            self.image_size = tuple(trunk.patch_embed.img_size)
            self.width = trunk.embed_dim
            self.num_layers = len(trunk.blocks)
            self.num_prefix_tokens = trunk.num_prefix_tokens
            self.embed_dim = clip.text.output_dim if hasattr(clip, 'text') else \
                clip.text_projection.shape[-1]
        elif isinstance(visual, VisionTransformer) and visual.attn_pool is None:
            self.patch_size = tuple(visual.patch_size)
            self.image_size = tuple(visual.image_size)
            self.width = visual.transformer.width
            self.num_layers = len(visual.transformer.resblocks)
            self.num_prefix_tokens = 1
            self.embed_dim = visual.output_dim
        else:
            raise NotImplementedError(
                f'{self.model_name} has a {type(visual).__name__} vision tower'
                f'{" with attentional pooling" if getattr(visual, "attn_pool", None) else ""}; '
                f'UMGCLIPBackbone supports open_clip VisionTransformer towers with token or '
                f'average pooling (ViT-*, ViT-*-quickgelu, ...) and timm ViT/EVA towers '
                f'(EVA02-*).')
        self.visual = visual
        del clip  # the text tower lives in UMGCLIPTextEncoder
        self.out_type = out_type
        self.dense_readout = dense_readout
        if dense_readout in VALUE_READOUTS and (self.is_timm or not isinstance(
                visual.transformer.resblocks[-1], ResidualAttentionBlock)):
            raise NotImplementedError(
                f"dense_readout={dense_readout!r} needs open_clip's default attention blocks; "
                f'{self.model_name} has other blocks. '
                f"Use dense_readout='tokens'.")

        if out_indices is None:  # four evenly spaced blocks ending with the last
            out_indices = [max(0, (i + 1) * self.num_layers // 4 - 1) for i in range(4)]
        self.out_indices = () if out_indices == () or out_indices == [] else \
            self._take_indices(out_indices)

        self.frozen_stages = frozen_stages
        self._freeze_stages()
        self.lora_cfg = lora
        if lora is not None:
            if self._frozen_count() != len(self._stages()):
                raise ValueError(f"With lora the base weights are frozen by peft; leave "
                                 f"frozen_stages='all' (got {frozen_stages}).")
            lora = dict(lora)
            if self.is_timm:
                lora.setdefault('target_modules', timm_tower.TIMM_LORA_TARGETS)
            apply_lora(self.visual, **lora)
        if grad_checkpointing:
            self.set_grad_checkpointing(True)
        for path in files:
            self.load_checkpoint(path, checkpoint_prefix)
        MMLogger.get_current_instance().info(
            f'UMGCLIPBackbone({self.model_name}, lora={lora}): {trainable_summary(self)}')

    # ------------------------------------------------------------------ building
    def _take_indices(self, indices: Optional[Union[int, Sequence[int]]]) -> Tuple[int, ...]:
        """Absolute block indices of open_clip's ``indices`` (``None``: all blocks, ``n``: the
        last ``n``, a sequence: those blocks, negative from the end)."""
        try:
            taken, _ = feature_take_indices(self.num_layers, indices)
        except AssertionError as err:
            raise ValueError(f'indices {indices} name blocks outside 0..{self.num_layers - 1} '
                             f'of {self.model_name} ({self.num_layers} blocks): {err}') from None
        return tuple(taken)

    def _stages(self) -> List[List[Union[nn.Module, nn.Parameter]]]:
        if self.is_timm:
            return timm_tower.stages(self.visual)
        v = self.visual
        return ([[v.conv1, v.class_embedding, v.positional_embedding, v.ln_pre]] +
                [[block] for block in v.transformer.resblocks] + [[v.ln_post, v.proj]])

    def _frozen_count(self) -> int:
        """How many of :meth:`_stages` (stem, each block, head) ``frozen_stages`` freezes."""
        value, blocks = self.frozen_stages, self.num_layers
        if value == 'all':
            return blocks + 2
        if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= blocks:
            raise ValueError(
                f"frozen_stages={value!r}; use -1 (nothing frozen, as in mmdet/mmseg), 0 (the "
                f"stem), k <= {blocks} (the stem and the first k of the {blocks} blocks; "
                f"{blocks} also the head) or 'all'")
        return blocks + 2 if value == blocks else value + 1

    def _freeze_stages(self) -> None:
        stages = self._stages()
        for stage in stages[:self._frozen_count()]:
            for item in stage:
                params = [item] if isinstance(item, nn.Parameter) else item.parameters()
                for param in params:
                    param.requires_grad = False

    def train(self, mode: bool = True) -> 'UMGCLIPBackbone':
        """Set train mode, keeping frozen stages in eval mode (no patch dropout there)."""
        super().train(mode)
        if mode and self.lora_cfg is None:
            count = self._frozen_count()
            for stage in self._stages()[:count]:
                for item in stage:
                    if isinstance(item, nn.Module):
                        item.eval()
            if count > 0 and not self.is_timm:
                self.visual.patch_dropout.eval()
        return self

    # ------------------------------------------------------------------ open_clip-style API
    def lock(self, unlocked_groups: int = 0, freeze_bn_stats: bool = False) -> None:
        """Freeze the tower as open_clip's ``lock_image_tower`` does (last groups unlocked)."""
        self.visual.lock(unlocked_groups=unlocked_groups, freeze_bn_stats=freeze_bn_stats)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass (less memory)."""
        self.visual.set_grad_checkpointing(enable)

    def merge_lora(self) -> None:
        """Fold the LoRA adapters into the base weights (for export); the layout becomes plain."""
        merge_lora(self.visual)
        self.lora_cfg = None

    def lora_state_dict(self) -> Dict[str, torch.Tensor]:
        """The LoRA adapters alone (to share; they load on top of the same base weights)."""
        return lora_state_dict(self)

    # ------------------------------------------------------------------ weights
    def load_checkpoint(self, path: str, prefix: Optional[str] = None):
        """Load this backbone's weights from ``path`` (see ``checkpoint`` in the class doc).

        Returns:
            The :class:`~umg_mm.models.utils.LoadReport` (also logged).
        """
        anchor = 'visual.trunk.patch_embed.proj.weight' if self.is_timm else 'visual.conv1.weight'
        return load_tower_state(self, path, anchor=anchor, prefix=prefix, own_roots=('visual',))

    def adapt_checkpoint_state(self, state: Dict[str, torch.Tensor]) -> None:
        """Resize a checkpoint's positional embeddings to this tower's grid (open_clip's rule)."""
        resize_checkpoint_pos_embed(state, self)

    def init_weights(self) -> None:
        """Load ``init_cfg``'s checkpoint, if any; never re-initialise the CLIP weights."""
        if self._is_init:
            return
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else \
            [self.init_cfg] if self.init_cfg else []
        for cfg in cfgs:
            self.load_checkpoint(cfg['checkpoint'], cfg.get('prefix'))
        self._is_init = True

    # ------------------------------------------------------------------ forward
    def _pos_embed(self, grid: Tuple[int, int]) -> torch.Tensor:
        pos = self.visual.positional_embedding.unsqueeze(0)
        if tuple(grid) == tuple(self.visual.grid_size):
            return pos
        # imported here: mmpretrain.models takes seconds to import and is needed only now
        from mmpretrain.models.utils import resize_pos_embed
        return resize_pos_embed(pos, self.visual.grid_size, grid, mode='bicubic',
                                num_extra_tokens=1)

    def _tokens(self, x: torch.Tensor, indices: Sequence[int], drop_patches: bool,
                stop_early: bool = False):
        """Run the tower: final tokens (B, P + h*w, width) with P prefix tokens, {block: its
        output tokens}, grid (h, w).

        ``{-1: ...}`` is the embedding output (the input of block 0; open_clip towers only).
        """
        v = self.visual
        ph, pw = self.patch_size
        height, width = x.shape[-2:]
        pad_h, pad_w = (-height) % ph, (-width) % pw
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        grid = ((height + pad_h) // ph, (width + pad_w) // pw)
        if self.is_timm:
            x, by_index = timm_tower.tokens(v, x, indices)
            return x, by_index, grid
        x = v.conv1(x).flatten(2).transpose(1, 2)
        cls = v.class_embedding.to(x.dtype).view(1, 1, -1).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self._pos_embed(grid).to(x.dtype)
        if drop_patches:
            x = v.patch_dropout(x)
        embeds = v.ln_pre(x)
        taken = sorted(set(i for i in indices if i >= 0))
        if taken:
            x, intermediates = v.transformer.forward_intermediates(embeds, indices=taken,
                                                                   stop_early=stop_early)
            by_index = dict(zip(taken, intermediates))
        else:
            x, by_index = v.transformer(embeds), {}
        by_index[-1] = embeds  # the input of block 0
        return x, by_index, grid

    def _to_joint(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.is_timm:
            return timm_tower.to_joint(self.visual, tokens)
        tokens = self.visual.ln_post(tokens)
        return tokens @ self.visual.proj if self.visual.proj is not None else tokens

    def _global(self, x: torch.Tensor) -> torch.Tensor:
        if self.is_timm:
            return timm_tower.global_embedding(self.visual, x)
        pooled, _ = self.visual._pool(x)
        return pooled @ self.visual.proj if self.visual.proj is not None else pooled

    def _dense(self, x: torch.Tensor, before_last: Optional[torch.Tensor],
               grid: Tuple[int, int]) -> torch.Tensor:
        """``(B, D, h, w)`` dense embeddings by :attr:`dense_readout`, from the final tokens
        ``x`` or, for the value read-outs, the last block's input ``before_last``
        (``(B, P + h*w, width)`` each)."""
        if self.dense_readout in VALUE_READOUTS:
            block = self.visual.transformer.resblocks[-1]
            y = block.ln_1(before_last)
            batch, length, channels = y.shape
            # attention over a one-token sequence is out_proj(value(token)): each token is its
            # own sequence, so the block's own attention module (LoRA-wrapped or not) computes
            # the value path in time linear in the number of tokens
            y = y.reshape(batch * length, 1, channels)
            x = block.attn(y, y, y, need_weights=False)[0].reshape(batch, length, channels)
            x = block.ls_1(x)
            if self.dense_readout == 'value_block':  # the block, attention -> value path
                x = before_last + x
                x = x + block.ls_2(block.mlp(block.ln_2(x)))
        dense = self._to_joint(x[:, self.num_prefix_tokens:])
        # contiguous: compiled ops (mmcv's RoIAlign among them) assume it
        return dense.transpose(1, 2).reshape(dense.shape[0], -1, *grid).contiguous()

    def _block_maps(self, by_index: Dict[int, torch.Tensor], indices: Sequence[int], grid,
                    normalize: bool = False, output_fmt: str = 'NCHW') -> List[torch.Tensor]:
        """The patch tokens of the ``indices`` blocks: ``(B, width, h, w)`` maps (``'NCHW'``)
        or ``(B, h*w, width)`` tokens (``'NLC'``), through the final norm if ``normalize``."""
        maps = []
        for index in indices:
            tokens = by_index[index][:, self.num_prefix_tokens:]
            if normalize:
                tokens = (self.visual.trunk.norm if self.is_timm else self.visual.ln_post)(tokens)
            if output_fmt == 'NCHW':
                tokens = tokens.transpose(1, 2).reshape(tokens.shape[0], -1, *grid)
            maps.append(tokens)
        return maps

    def forward(self, inputs: torch.Tensor):
        """Encode a batch of images.

        Args:
            inputs: normalised images ``(B, 3, H, W)``, any ``H, W``; padded on the bottom/right
                to ``(Hp, Wp)``, the next multiples of the patch size ``p``. Let
                ``h, w = Hp / p, Wp / p`` and ``D`` the joint embedding size.

        Returns:
            By ``out_type``:

            * ``'global'``: ``(global,)`` with ``global`` of shape ``(B, D)``, equal to open_clip
              ``encode_image`` (not L2-normalised);
            * ``'dense'``: ``(dense,)`` with ``dense`` of shape ``(B, D, h, w)``;
            * ``'intermediates'``: the ``out_indices`` blocks' outputs, one
              ``(B, width, h, w)`` map each (a neck's input);
            * ``'dict'``: ``{'global': (B, D), 'dense': (B, D, h, w), 'intermediates':
              tuple}`` (``'intermediates'`` only when ``out_indices`` names blocks).
        """
        want_global = self.out_type in ('global', 'dict')
        want_dense = self.out_type in ('dense', 'dict')
        indices = list(self.out_indices) if self.out_type in ('intermediates', 'dict') else []
        if want_dense and self.dense_readout in VALUE_READOUTS:
            indices.append(self.num_layers - 2)
        x, by_index, grid = self._tokens(inputs, indices, drop_patches=self.out_type == 'global')
        outputs = {}
        if want_global:
            outputs['global'] = self._global(x)
        if want_dense:
            outputs['dense'] = self._dense(x, by_index.get(self.num_layers - 2), grid)
        if self.out_indices and self.out_type in ('intermediates', 'dict'):
            outputs['intermediates'] = tuple(self._block_maps(by_index, self.out_indices, grid))
        if self.out_type == 'dict':
            return outputs
        return outputs[self.out_type] if self.out_type == 'intermediates' else \
            (outputs[self.out_type],)

    def forward_intermediates(self,
                              inputs: torch.Tensor,
                              indices: Optional[Union[int, Sequence[int]]] = None,
                              stop_early: bool = False,
                              normalize_intermediates: bool = False,
                              intermediates_only: bool = False,
                              output_fmt: str = 'NCHW') -> Dict[str, object]:
        """Block outputs, as open_clip's ``VisionTransformer.forward_intermediates`` gives them
        (same arguments; blocks chosen by ``feature_take_indices``), for any input size.

        Args:
            inputs: images ``(B, 3, H, W)`` (padded as in :meth:`forward`).
            indices: an int ``n`` takes the last ``n`` blocks, a sequence takes those blocks
                (negative counts from the end), ``None`` takes all.
            stop_early: with ``intermediates_only``, run no block after the last taken one
                (open_clip towers; the global embedding needs them all).
            normalize_intermediates: apply the final norm (``ln_post``) to each intermediate.
            intermediates_only: skip the global embedding.
            output_fmt: ``'NCHW'`` gives ``(B, width, h, w)`` maps, ``'NLC'`` gives
                ``(B, h*w, width)`` tokens (class token dropped).

        Returns:
            ``{'image_intermediates': [...]}`` plus ``'image_features'`` ``(B, D)`` unless
            ``intermediates_only``.
        """
        if output_fmt not in ('NCHW', 'NLC'):
            raise ValueError(f"output_fmt={output_fmt!r}; choose 'NCHW' or 'NLC'")
        taken = self._take_indices(indices)
        x, by_index, grid = self._tokens(inputs, taken, drop_patches=False,
                                         stop_early=stop_early and intermediates_only)
        output = {'image_intermediates': self._block_maps(
            by_index, taken, grid, normalize=normalize_intermediates, output_fmt=output_fmt)}
        if not intermediates_only:
            output['image_features'] = self._global(x)
        return output


def _pretrained_file(pretrained: str) -> str:
    """A ``pretrained`` value that names a file (mmseg's meaning): the file; a URL is refused."""
    if '://' in pretrained:
        raise ValueError(
            f'UMGCLIPBackbone got pretrained={pretrained!r}: a URL of weights for another backbone. '
            f"mmseg's EncoderDecoder hands its model-level `pretrained` (set to "
            f"'open-mmlab://resnet50_v1c' in the stock UperNet/FCN/DeepLab configs) to the "
            f'backbone. Set model.pretrained=None (in the config or with --cfg-options '
            f'model.pretrained=None) and give the CLIP weights with model.backbone.checkpoint='
            f'<file> (or model.backbone.pretrained=<an open_clip tag>).')
    return pretrained


def _check_init_cfg(init_cfg) -> None:
    cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg] if init_cfg else []
    for cfg in cfgs:
        if cfg.get('type') != 'Pretrained' or 'checkpoint' not in cfg:
            raise ValueError(
                f'UMGCLIPBackbone accepts only init_cfg=dict(type="Pretrained", checkpoint=..., '
                f'prefix=...), got {cfg}: any other initialiser would overwrite the CLIP weights.')
