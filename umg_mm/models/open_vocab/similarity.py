"""Dense embeddings against class text embeddings, and dense embeddings pooled in soft masks."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def class_similarities(dense: Tensor, class_embeddings: Tensor) -> Tensor:
    """``(B, K, h, w)`` cosine similarities of ``(B, D, h, w)`` dense embeddings with ``(K, D)``
    L2-normalised class embeddings."""
    return torch.einsum('bdhw,kd->bkhw', F.normalize(dense.float(), dim=1),
                        class_embeddings.float())


def dense_class_scores(dense: Tensor, class_embeddings: Tensor, img_shape: Tuple[int, int],
                       pad_shape: Tuple[int, int], out_shape: Tuple[int, int]) -> Tensor:
    """Cosine similarity of each pixel's dense embedding with each class, at the output size.

    Args:
        dense: ``(D, h, w)`` dense embeddings of the padded input.
        class_embeddings: ``(K, D)`` L2-normalised class embeddings.
        img_shape: ``(H_img, W_img)`` of the image inside the padded input.
        pad_shape: ``(H_pad, W_pad)`` of the padded input.
        out_shape: ``(H_out, W_out)`` of the output map.

    Returns:
        ``(K, H_out, W_out)`` similarities in ``[-1, 1]``.
    """
    scores = class_similarities(dense[None], class_embeddings)
    scores = F.interpolate(scores, size=pad_shape, mode='bilinear', align_corners=False)
    scores = scores[..., :img_shape[0], :img_shape[1]]
    return F.interpolate(scores, size=out_shape, mode='bilinear', align_corners=False)[0]


def masked_average_pool(dense: Tensor, mask_logits: Tensor, eps: float = 1e-6) -> Tensor:
    """Per query, the mean of the dense embeddings weighted by its soft mask
    (``sigmoid(mask_logits)`` resized to the dense grid).

    Args:
        dense: ``(B, D, h, w)`` dense embeddings.
        mask_logits: ``(B, Q, H, W)`` mask logits at any resolution; resized (bilinear) to
            ``(h, w)`` and passed through a sigmoid.
        eps: guards empty masks.

    Returns:
        ``(B, Q, D)`` mask-pooled embeddings (not normalised).
    """
    if dense.shape[0] != mask_logits.shape[0]:
        raise ValueError(f'masked_average_pool: dense batch {dense.shape[0]} != masks batch '
                         f'{mask_logits.shape[0]}')
    masks = F.interpolate(mask_logits, size=dense.shape[-2:], mode='bilinear',
                          align_corners=False).sigmoid()
    pooled = torch.einsum('bqhw,bdhw->bqd', masks, dense.to(masks.dtype))
    return pooled / (masks.sum(dim=(-2, -1))[..., None] + eps)


def mask_class_scores(cls_probs: Tensor, mask_logits: Tensor, size: Tuple[int, int]) -> Tensor:
    """Mask2Former's semantic inference: class probabilities times mask probabilities, summed
    over queries.

    Args:
        cls_probs: ``(B, Q, C)`` class probabilities of each query (void dropped).
        mask_logits: ``(B, Q, h, w)`` mask logits; resized (bilinear) to ``size``.
        size: ``(H, W)`` of the output.

    Returns:
        ``(B, C, H, W)`` scores.
    """
    mask_probs = F.interpolate(mask_logits, size=size, mode='bilinear',
                               align_corners=False).sigmoid()
    return torch.einsum('bqc,bqhw->bchw', cls_probs, mask_probs)
