"""umg_mm: UMG-CLIP (CLIP aligned with text per image, region and pixel) for MMEngine, mmdet, mmseg.

``import umg_mm`` (or ``custom_imports = dict(imports=['umg_mm'])`` in a config) checks the
OpenMMLab versions, applies the torch compatibility fixes of :mod:`umg_mm.utils.compat` and
registers every umg_mm component (see :mod:`umg_mm.registry`).
"""
from .version import __version__
from .utils import compat, version_check

version_check.check_openmmlab_versions()
compat.apply()

from . import datasets, engine, evaluation, models, visualization  # noqa: E402,F401  (registers)

__all__ = ['__version__']
