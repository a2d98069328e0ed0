"""The data engine: UMG-schema pseudo-annotations (image tags and captions, region boxes, masks)
of raw images from a chain of stock OpenMMLab and umg_mm models (docs/data_engine.md).

Not imported by ``import umg_mm``: it sits above :mod:`umg_mm.apis`, whose inferencer it runs.
"""
from .registry import STAGES
from .runner import DataEngine, summary_table
from .sources import ImageItem, list_items
from . import stages  # noqa: F401  (registers the stages)

__all__ = ['STAGES', 'DataEngine', 'ImageItem', 'list_items', 'summary_table']
