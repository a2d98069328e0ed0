"""Task inferencers on mmseg's, mmdet's, mmpretrain's and mmengine's inferencer classes, and
:func:`UMGInferencer`, which picks one by the config's model type."""
from .clip import UMGCLIPInferencer
from .factory import INFERENCERS, UMGInferencer, inferencer_class
from .panoptic import UMGPanopticInferencer
from .semantic import UMGSegInferencer
from .zero_shot import UMGZeroShotInferencer

__all__ = ['UMGInferencer', 'INFERENCERS', 'inferencer_class', 'UMGCLIPInferencer',
           'UMGSegInferencer', 'UMGPanopticInferencer', 'UMGZeroShotInferencer']
