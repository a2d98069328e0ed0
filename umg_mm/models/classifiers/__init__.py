"""mmpretrain classifiers of umg_mm (registered in mmpretrain's MODELS)."""
from .umg_clip_zero_shot import UMGCLIPZeroShot, resolve_prompts, resolve_prototype

__all__ = ['UMGCLIPZeroShot', 'resolve_prompts', 'resolve_prototype']
