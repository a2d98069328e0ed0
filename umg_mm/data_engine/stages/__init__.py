"""The engine's stages, registered in :data:`umg_mm.data_engine.registry.STAGES`."""
from .base import ROLES, BaseStage
from .caption import LayoutCaption, MMPretrainCaption
from .detect import MMDetDetect, UMGPanopticDetect
from .filter import UMGScoreFilter
from .segment import MMDetPanopticSegment, UMGPanopticSegment
from .tag import UMGZeroShotTag

__all__ = ['ROLES', 'BaseStage', 'LayoutCaption', 'MMPretrainCaption', 'MMDetDetect',
           'UMGPanopticDetect', 'UMGScoreFilter', 'MMDetPanopticSegment', 'UMGPanopticSegment',
           'UMGZeroShotTag']
