"""Losses of umg_mm: multi-granularity contrastive alignment across ranks, region-to-crop
self-distillation."""
from .multi_positive_contrastive_loss import MultiPositiveContrastiveLoss, string_ids
from .region_crop_distill_loss import RegionCropDistillLoss

__all__ = ['MultiPositiveContrastiveLoss', 'RegionCropDistillLoss', 'string_ids']
