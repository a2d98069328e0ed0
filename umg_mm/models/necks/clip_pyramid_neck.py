"""The pyramid neck of a plain ViT: mmseg's ``Feature2Pyramid`` on the blocks a backbone took."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmseg.models.necks import Feature2Pyramid
from torch import Tensor, nn

from umg_mm.registry import MODELS


@MODELS.register_module()
class CLIPPyramidNeck(Feature2Pyramid):
    """mmseg's ``Feature2Pyramid`` over the intermediate blocks of ``UMGCLIPBackbone``.

    Each block map (all at the patch stride ``p``) is rescaled by ``rescales`` (``(4, 2, 1,
    0.5)``: strides ``p/4, p/2, p, 2p``, i.e. 4, 8, 16, 32 for ``p=16``), with mmseg's layers, then
    optionally mapped to ``out_channels`` by 1x1 convolutions. Before a downsampling (max pooling
    by ``1 / rescale``) a map is edge-replicated to a multiple of the window, so that pooling acts
    as ``ceil_mode`` pooling and an odd grid keeps its last row and column.

    Args:
        embed_dim: channels of the block maps (the tower width).
        rescales: one scale per level, as ``Feature2Pyramid``'s.
        norm_cfg: the norm layer of the 4x upsampling.
        out_channels: output channels (an int or one per level), each through a 1x1
            convolution; ``None`` keeps ``embed_dim``.
    """

    def __init__(self,
                 embed_dim: int,
                 rescales: Sequence[float] = (4, 2, 1, 0.5),
                 norm_cfg: dict = dict(type='SyncBN', requires_grad=True),
                 out_channels: Optional[Union[int, Sequence[int]]] = None):
        super().__init__(embed_dim, rescales=list(rescales), norm_cfg=norm_cfg)
        self.proj = None
        if out_channels is not None:
            if isinstance(out_channels, int):
                out_channels = [out_channels] * len(rescales)
            if len(out_channels) != len(rescales):
                raise ValueError(f'out_channels={list(out_channels)} must give one value per '
                                 f'level of rescales={list(rescales)}')
            self.proj = nn.ModuleList(
                nn.Conv2d(embed_dim, channels, kernel_size=1) for channels in out_channels)

    def forward(self, inputs: Union[Sequence[Tensor], Dict[str, Sequence[Tensor]]]
                ) -> Tuple[Tensor, ...]:
        """The pyramid of the block maps.

        Args:
            inputs: one ``(B, embed_dim, h, w)`` map per level, or the backbone's ``'dict'``
                output (its ``'intermediates'`` are read).

        Returns:
            One ``(B, C_i, ceil(h * r_i), ceil(w * r_i))`` map per level ``i``.
        """
        maps = inputs['intermediates'] if isinstance(inputs, dict) else inputs
        if len(maps) != len(self.rescales):
            raise ValueError(f'CLIPPyramidNeck has {len(self.rescales)} levels (rescales='
                             f'{self.rescales}) but got {len(maps)} block maps; give the '
                             f'backbone as many out_indices')
        padded = []
        for fmap, rescale in zip(maps, self.rescales):
            if rescale < 1:
                window = round(1 / rescale)
                height, width = fmap.shape[-2:]
                fmap = F.pad(fmap, (0, (-width) % window, 0, (-height) % window),
                             mode='replicate')
            padded.append(fmap)
        levels = super().forward(padded)
        if self.proj is not None:
            levels = tuple(proj(level) for proj, level in zip(self.proj, levels))
        return levels
