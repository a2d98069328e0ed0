"""Backbones of umg_mm: the UMG-CLIP visual tower."""
from .umg_clip_backbone import UMGCLIPBackbone

__all__ = ['UMGCLIPBackbone']
