"""Gathering variable-length rows from every rank, with gradients for the contrastive losses.

Ranks hold different numbers of images with captions, regions and masks (possibly none). All
collectives need equal shapes, so each rank pads its rows to the largest count of any rank and the
receiver masks the padding out. Every rank calls the same collectives in the same order whatever
its own count, so none waits forever for another.

Gathering with gradients uses open_clip's :func:`open_clip.loss.gather_features` (which calls
``torch.distributed.nn.all_gather``): the gathered copy of a rank's rows sends its gradient back
to that rank. Integer bookkeeping (counts, text ids, positive pairs) goes through
``mmengine.dist.all_gather``, which carries no gradient.
"""
from typing import List, Tuple

import torch
from mmengine.dist import all_gather, get_dist_info
from open_clip.loss import gather_features


def gather_counts(*counts: int, device: torch.device) -> torch.Tensor:
    """Counts of every rank: ``(world_size, len(counts))`` int64 (one collective)."""
    local = torch.tensor([counts], dtype=torch.long, device=device)
    _, world_size = get_dist_info()
    if world_size == 1:
        return local
    return torch.cat(all_gather(local))


def pad_rows(rows: torch.Tensor, length: int, value: float = 0) -> torch.Tensor:
    """Pad ``rows`` ``(N, ...)`` to ``(length, ...)`` with ``value``."""
    if rows.shape[0] == length:
        return rows
    pad = rows.new_full((length - rows.shape[0], *rows.shape[1:]), value)
    return torch.cat([rows, pad])


def gather_with_grad(first: torch.Tensor,
                     second: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Gather two padded ``(M, D)`` tensors from all ranks, keeping gradients (open_clip's way).

    Returns:
        ``(world_size * M1, D)`` and ``(world_size * M2, D)``: rank ``r``'s rows at
        ``[r * M, (r + 1) * M)``.
    """
    rank, world_size = get_dist_info()
    if world_size == 1:
        return first, second
    return gather_features(first, second, local_loss=True, gather_with_grad=True, rank=rank,
                           world_size=world_size)


def gather_no_grad(rows: torch.Tensor) -> torch.Tensor:
    """Gather a padded ``(M, ...)`` tensor from all ranks without gradient:
    ``(world_size * M, ...)``."""
    _, world_size = get_dist_info()
    if world_size == 1:
        return rows
    return torch.cat(all_gather(rows.contiguous()))


def valid_mask(counts: List[int], length: int, device: torch.device) -> torch.Tensor:
    """``(len(counts) * length,)`` bool: True for the real (unpadded) rows of each rank."""
    positions = torch.arange(length, device=device)
    return torch.cat([positions < count for count in counts])
