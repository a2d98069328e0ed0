"""The classes that can win a pixel of an upsampled score map, found at the maps' low resolution.

A semantic label map is ``argmax_c`` of class scores upsampled bilinearly from a low-resolution
grid (and once more to the image's size by mmseg's post-processing). An output pixel's value is a
convex combination of the values at neighbouring grid points, all within a 3 x 3 block of the
grid, so it lies between that block's minimum and maximum. A class whose upper bound in every
block is below the best lower bound of another class in that block wins no output pixel: the
label map over the candidates is the label map over all classes, and only the candidates need
their full-resolution maps.
"""
import torch
import torch.nn.functional as F
from torch import Tensor


def block_bounds(maps: Tensor) -> tuple:
    """Minimum and maximum of each 3 x 3 block (edges replicated).

    Args:
        maps: ``(B, N, h, w)``.

    Returns:
        ``(lower, upper)``, each ``(B, N, h * w)``.
    """
    padded = F.pad(maps, (1, 1, 1, 1), mode='replicate')
    upper = F.max_pool2d(padded, 3, stride=1)
    lower = -F.max_pool2d(-padded, 3, stride=1)
    return lower.flatten(2), upper.flatten(2)


def _candidates(lower_of, upper_of, num_classes: int, chunk: int, tol: float) -> Tensor:
    """Classes whose upper bound reaches the best lower bound in some block, ``chunk`` classes
    at a time (``lower_of(s)``/``upper_of(s)``: ``(B, len(s), P)`` bounds of class slice ``s``)."""
    slices = [slice(i, min(i + chunk, num_classes)) for i in range(0, num_classes, chunk)]
    best = torch.stack([lower_of(s).max(dim=1).values for s in slices]).max(dim=0).values
    return torch.cat([(upper_of(s) >= best[:, None] - tol).flatten(2).any(dim=2).any(dim=0)
                      for s in slices])


def mixture_candidates(class_probs: Tensor, mask_probs: Tensor, chunk: int = 128,
                       tol: float = 1e-5) -> Tensor:
    """Candidates of Mask2Former's semantic scores ``sum_q class_probs[q, c] * mask_probs[q]``.

    Args:
        class_probs: ``(B, Q, K)`` non-negative class probabilities of the queries.
        mask_probs: ``(B, Q, h, w)`` mask probabilities at the masks' resolution (the sigmoid of
            the logits that are upsampled: the sigmoid is monotonic, so the bounds hold).
        chunk: classes per step: memory ``B * chunk * h * w``, whatever ``K``.
        tol: slack against rounding (score units).

    Returns:
        ``(K,)`` bool, True for the classes that may win an output pixel.
    """
    lower, upper = block_bounds(mask_probs)

    def bound(maps):
        return lambda s: torch.einsum('bqk,bqp->bkp', class_probs[..., s], maps)

    return _candidates(bound(lower), bound(upper), class_probs.shape[-1], chunk, tol)


def map_candidates(maps: Tensor, chunk: int = 128, tol: float = 1e-5) -> Tensor:
    """Candidates of ``argmax_c`` of per-class maps ``(B, K, h, w)`` upsampled bilinearly:
    ``(K,)`` bool."""
    lower, upper = block_bounds(maps)
    return _candidates(lambda s: lower[:, s], lambda s: upper[:, s], maps.shape[1], chunk, tol)
