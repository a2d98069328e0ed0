"""The registry of the data engine's stages.

A stage is built from a config dict (``dict(type='UMGZeroShotTag', config=..., checkpoint=...)``)
like any OpenMMLab component; the engine's configs chain them under ``stages = [...]``. Stages
are no model of any library, so they have a registry of their own.
"""
from mmengine.registry import Registry

STAGES = Registry('data engine stage', locations=['umg_mm.data_engine.stages'])
