"""Batching of packed UMG samples (``PackUMGInputs``) for the pretraining model."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor

from umg_mm.registry import MODELS


@MODELS.register_module()
class UMGDataPreprocessor(ImgDataPreprocessor):
    """mmengine's ``ImgDataPreprocessor`` (channel swap, normalisation, bottom/right padding to a
    common size divisible by ``pad_size_divisor``) that also pads the segment masks.

    After it, every sample's ``gt_segments.masks`` is ``(S, Hp, Wp)``, the padded batch size, with
    the padding False; ``batch_input_shape`` (``(Hp, Wp)``) is set in every sample's metainfo.
    Boxes need nothing: they are absolute pixel coordinates, and padding is bottom/right only.
    Texts stay strings: the model tokenises the batch's distinct strings once.

    Args:
        mean, std: per-channel normalisation (after the channel swap), 0-255 pixel units.
        pad_size_divisor: pad the batch to multiples of this (use the patch size).
        pad_value: value of padded image pixels (after normalisation).
        bgr_to_rgb: swap channels (``LoadUMGImage`` loads BGR).
        non_blocking: copy to the device without blocking.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = (122.771, 116.746, 104.094),
                 std: Optional[Sequence[float]] = (68.501, 66.632, 70.323),
                 pad_size_divisor: int = 1,
                 pad_value: float = 0,
                 bgr_to_rgb: bool = True,
                 non_blocking: bool = False):
        super().__init__(mean=mean, std=std, pad_size_divisor=pad_size_divisor,
                         pad_value=pad_value, bgr_to_rgb=bgr_to_rgb,
                         non_blocking=non_blocking)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise and pad ``data['inputs']`` to ``(B, 3, Hp, Wp)``; pad masks to match."""
        data = super().forward(data, training)
        inputs, samples = data['inputs'], data['data_samples']
        height, width = inputs.shape[-2:]
        for sample in samples or []:
            sample.set_metainfo(dict(batch_input_shape=(height, width)))
            segments = sample.get('gt_segments')
            if segments is not None and 'masks' in segments:
                masks = segments.masks
                if not isinstance(masks, torch.Tensor):
                    masks = masks.to_tensor(torch.bool, inputs.device)  # mmdet BitmapMasks
                pad_h, pad_w = height - masks.shape[-2], width - masks.shape[-1]
                if pad_h < 0 or pad_w < 0:
                    raise ValueError(
                        f'{sample.get("img_path", "a sample")}: segment masks of size '
                        f'{tuple(masks.shape[-2:])} are larger than the image batch '
                        f'{(height, width)}; masks must have the image size (PackUMGInputs)')
                segments.masks = F.pad(masks, (0, pad_w, 0, pad_h)) if pad_h or pad_w else masks
        return data
