"""Gathering variable-length rows from every rank, with gradients for the contrastive losses.

Ranks hold different numbers of images with captions, regions and masks (possibly none). All
collectives need equal shapes, so each rank pads its rows to the largest count of any rank and the
receiver masks the padding out. Every rank calls the same collectives in the same order whatever
its own count, so none waits forever for another.

Gathering with gradients uses ``torch.distributed.nn.all_gather`` (what open_clip's
``gather_features(gather_with_grad=True)`` calls): the gathered copy of a rank's rows sends its
gradient back to that rank, by a collective in the backward pass. Two rules keep those backward
collectives matched on every rank:

* the gathered tensor requires a gradient on every rank, also where it holds only padding
  (otherwise that rank would skip the backward collective that the others run);
* the losses' collectives run in their own process group. DDP all-reduces gradient buckets on the
  default group while the backward pass runs, in an order that depends on each rank's graph; a
  rank without regions has another graph, so sharing the group could pair one rank's gradient
  all-reduce with another's gather (open_clip's ``gather_features`` takes no group, hence the
  direct call).

Integer bookkeeping (counts, text ids, positive pairs) goes through ``mmengine.dist.all_gather``
(no gradient) in the same group.
"""
from typing import List, Optional, Tuple

import torch
import torch.distributed as dist
import torch.distributed.nn
from mmengine.dist import all_gather, get_dist_info

_GROUPS = {}


def loss_group() -> Optional['dist.ProcessGroup']:
    """The process group of the losses' collectives (created on first use, by every rank at the
    same point: the first loss computation); ``None`` without distribution."""
    _, world_size = get_dist_info()
    if world_size == 1:
        return None
    key = (id(dist.group.WORLD), world_size)
    if key not in _GROUPS:
        _GROUPS[key] = dist.new_group(backend=dist.get_backend())
    return _GROUPS[key]


def gather_counts(*counts: int, device: torch.device) -> torch.Tensor:
    """Counts of every rank: ``(world_size, len(counts))`` int64 (one collective)."""
    local = torch.tensor([counts], dtype=torch.long, device=device)
    group = loss_group()
    if group is None:
        return local
    return torch.cat(all_gather(local, group=group))


def pad_rows(rows: torch.Tensor, length: int, value: float = 0) -> torch.Tensor:
    """Pad ``rows`` ``(N, ...)`` to ``(length, ...)`` with ``value``."""
    if rows.shape[0] == length:
        return rows
    pad = rows.new_full((length - rows.shape[0], *rows.shape[1:]), value)
    return torch.cat([rows, pad])


def gather_with_grad(*tensors: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """Gather padded ``(M, D)`` tensors from all ranks, keeping gradients.

    Returns:
        For each tensor, ``(world_size * M, D)``: rank ``r``'s rows at ``[r * M, (r + 1) * M)``.
    """
    group = loss_group()
    if group is None:
        return tensors
    gathered = []
    for tensor in tensors:
        if torch.is_grad_enabled() and not tensor.requires_grad:
            tensor = tensor.detach().requires_grad_()  # only padding here: see the module doc
        gathered.append(torch.cat(torch.distributed.nn.all_gather(tensor, group=group)))
    return tuple(gathered)


def gather_no_grad(rows: torch.Tensor) -> torch.Tensor:
    """Gather a padded ``(M, ...)`` tensor from all ranks without gradient:
    ``(world_size * M, ...)``."""
    group = loss_group()
    if group is None:
        return rows
    return torch.cat(all_gather(rows.contiguous(), group=group))


def valid_mask(counts: List[int], length: int, device: torch.device) -> torch.Tensor:
    """``(len(counts) * length,)`` bool: True for the real (unpadded) rows of each rank."""
    positions = torch.arange(length, device=device)
    return torch.cat([positions < count for count in counts])
