"""Region-to-crop self-distillation (CLIPSelf): a region's embedding pooled from the dense map
is pulled towards the global embedding of the same region cropped from the image."""
import torch
import torch.nn.functional as F
from torch import nn

from umg_mm.registry import MODELS


@MODELS.register_module()
class RegionCropDistillLoss(nn.Module):
    """``1 - cos(student, teacher)``, averaged over regions.

    The pretrainer (:class:`~umg_mm.models.pretrainers.UMGCLIPPretrainer`) gives, for up to
    ``num_crops`` ground-truth boxes of the batch, the student (the box RoIAligned from the full
    image's dense map, as the region-text loss pools it) and the teacher (the global embedding of
    the box cropped from the input image, resized to the tower's input size and encoded by the
    same tower without gradient: a stop-gradient self-distillation, the teacher being the
    student's own image tower, where CLIPSelf keeps a frozen copy).

    Args:
        loss_weight: multiplies the loss.
        num_crops: at most this many boxes per batch (per rank) are cropped and encoded, chosen
            at random when the batch has more.
    """

    def __init__(self, loss_weight: float = 1.0, num_crops: int = 8):
        super().__init__()
        if num_crops < 1:
            raise ValueError(f'num_crops={num_crops}; crop at least one box per batch')
        self.loss_weight = loss_weight
        self.num_crops = num_crops

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """Loss of ``N`` regions.

        Args:
            student: ``(N, D)`` region embeddings pooled from the dense map (with gradient).
            teacher: ``(N, D)`` global embeddings of the crops (detached here).

        Returns:
            The weighted mean of ``1 - cos``, a scalar; ``0`` (attached to ``student``'s graph)
            when ``N = 0``.
        """
        if student.shape != teacher.shape:
            raise ValueError(f'student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must have the same (N, D) shape')
        if student.shape[0] == 0:
            return student.sum() * 0.
        cosine = F.cosine_similarity(student.float(), teacher.detach().float(), dim=-1)
        return self.loss_weight * (1 - cosine).mean()
