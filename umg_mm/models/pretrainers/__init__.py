"""Pretraining models of umg_mm."""
from .umg_clip_pretrainer import UMGCLIPPretrainer

__all__ = ['UMGCLIPPretrainer']
