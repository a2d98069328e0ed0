"""Losses of umg_mm: multi-granularity contrastive alignment across ranks."""
from .multi_positive_contrastive_loss import MultiPositiveContrastiveLoss, string_ids

__all__ = ['MultiPositiveContrastiveLoss', 'string_ids']
