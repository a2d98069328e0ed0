"""Necks between UMG-CLIP's backbone and the heads."""
from .clip_pyramid_neck import CLIPPyramidNeck

__all__ = ['CLIPPyramidNeck']
