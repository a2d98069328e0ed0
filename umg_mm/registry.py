"""Where umg_mm's components are registered.

umg_mm has no registry scope of its own. Components that several OpenMMLab libraries build (the
UMG-CLIP backbone, the text encoder, contrastive losses, multi-granularity datasets and transforms,
zero-shot metrics) are registered in MMEngine's root registries re-exported here: mmdet's, mmseg's
and mmpretrain's registries are children of these, and a child finds a class registered in its
parent, so ``type='UMGCLIPBackbone'`` builds from an mmdet, an mmseg or an mmpretrain config alike,
with or without ``default_scope``. Components that only one library builds (an mmdet detector or
head, an mmseg segmentor or decode head) register in that library's own registry.
"""
from mmengine.registry import DATASETS, DATA_SAMPLERS, HOOKS, METRICS, MODELS, TRANSFORMS

__all__ = ['DATASETS', 'DATA_SAMPLERS', 'HOOKS', 'METRICS', 'MODELS', 'TRANSFORMS']
