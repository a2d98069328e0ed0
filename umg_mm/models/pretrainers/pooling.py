"""Pooling dense patch embeddings into region and mask embeddings."""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.ops import RoIAlign
from torch.nn.utils.rnn import pad_sequence


def pool_regions(dense: torch.Tensor, boxes: Sequence[torch.Tensor],
                 roi_align: RoIAlign) -> torch.Tensor:
    """Region embeddings by mmcv's RoIAlign on the dense map, averaged over the output bins.

    Args:
        dense: ``(B, D, h, w)`` patch embeddings of the padded batch (any memory layout).
        boxes: per image ``(R_i, 4)`` absolute ``x1, y1, x2, y2`` in input pixels;
            ``roi_align.spatial_scale`` maps them onto the patch grid (``1 / patch_size``).
        roi_align: an ``mmcv.ops.RoIAlign``.

    Returns:
        ``(sum R_i, D)`` region embeddings (not normalised), images in order.
    """
    rois = [torch.cat([box.new_full((box.shape[0], 1), i), box.reshape(-1, 4)], dim=1)
            for i, box in enumerate(boxes)]
    rois = torch.cat(rois).to(dense) if rois else dense.new_zeros((0, 5))
    if rois.shape[0] == 0:
        return dense.new_zeros((0, dense.shape[1]))
    # mmcv's RoIAlign indexes its input as if it were contiguous: on a strided view (such as a
    # (B, L, D) token tensor transposed into a map) its forward reads the wrong elements while
    # its backward scatters into the right ones, so nothing can be learnt through it
    return roi_align(dense.contiguous(), rois).mean(dim=(2, 3))


def crop_regions(images: torch.Tensor, boxes: torch.Tensor, image_index: torch.Tensor,
                 size: Tuple[int, int]) -> torch.Tensor:
    """Boxes cut out of the images and resized to ``size`` (mmcv's RoIAlign, bilinear with
    adaptive sampling: a box larger than ``size`` is averaged, not aliased).

    Args:
        images: ``(B, C, H, W)`` images.
        boxes: ``(N, 4)`` absolute ``x1, y1, x2, y2`` in pixels of ``images``.
        image_index: ``(N,)`` the image of each box.
        size: ``(height, width)`` of the crops.

    Returns:
        ``(N, C, height, width)`` crops.
    """
    if boxes.shape[0] == 0:
        return images.new_zeros((0, images.shape[1], *size))
    rois = torch.cat([image_index.to(images)[:, None], boxes.to(images)], dim=1)
    crop = RoIAlign(output_size=tuple(size), spatial_scale=1., sampling_ratio=0, aligned=True)
    return crop(images.contiguous(), rois)


def mask_coverage(masks: torch.Tensor, grid: Tuple[int, int], patch_size: int) -> torch.Tensor:
    """Fraction of each patch that each mask covers.

    Args:
        masks: ``(S, H, W)`` bool masks in input pixels (``H <= h * patch_size``; the rest
            counts as uncovered, as the backbone pads the input with zeros).
        grid: ``(h, w)`` patch grid.
        patch_size: patch side in pixels.

    Returns:
        ``(S, h, w)`` float in ``[0, 1]``.
    """
    height, width = grid[0] * patch_size, grid[1] * patch_size
    if masks.shape[-2] > height or masks.shape[-1] > width:
        raise ValueError(f'masks of size {tuple(masks.shape[-2:])} exceed the {grid} patch grid '
                         f'of {patch_size} px patches')
    masks = F.pad(masks.float(), (0, width - masks.shape[-1], 0, height - masks.shape[-2]))
    return masks.reshape(-1, grid[0], patch_size, grid[1], patch_size).mean(dim=(2, 4))


def patch_coverage_pool(dense: torch.Tensor, masks: Sequence[torch.Tensor],
                        patch_size: int) -> Tuple[torch.Tensor, ...]:
    """Mask embeddings: per binary pixel mask, the mean of the patch embeddings weighted by the
    fraction of each patch the mask covers (for soft query masks of mask logits, see
    :func:`umg_mm.models.open_vocab.masked_average_pool`).

    One batched product ``(B, S_max, h w) x (B, h w, D)`` over the images' padded coverages:
    memory ``B S_max (h w + D)``, never a per-mask copy of the dense map.

    Args:
        dense: ``(B, D, h, w)`` patch embeddings.
        masks: per image ``(S_i, H, W)`` bool masks in input pixels.
        patch_size: patch side in pixels.

    Returns:
        ``(embeddings, coverage, image_index)``: ``(S, D)`` mask embeddings (not normalised),
        ``(S, h, w)`` coverage of each patch, ``(S,)`` image of each mask; ``S = sum S_i``.
    """
    grid = tuple(dense.shape[-2:])
    coverage = [mask_coverage(m.to(dense.device), grid, patch_size).to(dense.dtype)
                for m in masks]
    counts = [c.shape[0] for c in coverage]
    image_index = torch.cat([torch.full((n,), i, dtype=torch.long, device=dense.device)
                             for i, n in enumerate(counts)] or
                            [torch.zeros(0, dtype=torch.long, device=dense.device)])
    if sum(counts) == 0:
        return dense.new_zeros((0, dense.shape[1])), dense.new_zeros((0, *grid)), image_index
    padded = pad_sequence([c.flatten(1) for c in coverage], batch_first=True)  # (B, S_max, hw)
    pooled = torch.einsum('bsp,bdp->bsd', padded, dense.flatten(2))  # (B, S_max, D)
    pooled = torch.cat([pooled[i, :n] for i, n in enumerate(counts)])
    coverage = torch.cat(coverage)
    return pooled / coverage.sum(dim=(1, 2)).clamp(min=1e-6)[:, None], coverage, image_index


def covered_pixels(dense: torch.Tensor, coverage: torch.Tensor, image_index: torch.Tensor,
                   threshold: float) -> List[torch.Tensor]:
    """Patch embeddings of the patches a mask covers at least ``threshold`` of.

    Returns:
        ``[pixels (P, D), owner (P,)]``: the patches' embeddings and the index of their mask.
    """
    owner, ys, xs = (coverage >= threshold).nonzero(as_tuple=True)
    return [dense[image_index[owner], :, ys, xs], owner]
