"""Segment stages: masks with tags for things and stuff, written as UMG segments."""
from typing import List

from .. import models
from ..registry import STAGES
from ..sample import EngineSample
from .annotations import add_segments
from .base import ModelStage
from .umg_panoptic import UMGPanopticModelStage


@STAGES.register_module()
class UMGPanopticSegment(UMGPanopticModelStage):
    """Segments from umg_mm's open-vocabulary panoptic model: every segment of its panoptic map
    (thing segments scored by their instance's score, stuff unscored).

    Args:
        min_area: segments of fewer pixels are left out.
        See :class:`UMGPanopticModelStage` for the others.
    """
    role = 'segment'

    def __init__(self, config: str, min_area: int = 16, **kwargs):
        super().__init__(config, **kwargs)
        self.min_area = min_area

    def process(self, samples: List[EngineSample]) -> None:
        for sample, pred in zip(samples, self.predictions(samples)):
            add_segments(sample, pred['id_map'], pred['classes'], pred['num_things'],
                         self.name, self.model_name, self.min_area,
                         [(label, mask, score) for label, mask, score, _ in pred['instances']])


@STAGES.register_module()
class MMDetPanopticSegment(ModelStage):
    """Segments from an mmdet panoptic model (e.g. ``mmdet::mask2former/...coco-panoptic.py``),
    through mmdet's ``DetInferencer``; class names from the model's dataset meta (things, then
    stuff).

    Args:
        config: a config file; ``mmdet::<path>`` names one the installed mmdet ships.
        checkpoint: its weights.
        min_area: segments of fewer pixels are left out.
        cfg_options, batch_size, name: see :class:`ModelStage`.
    """
    role = 'segment'
    build_inferencer = staticmethod(models.det_inferencer)

    def __init__(self, config: str, min_area: int = 16, **kwargs):
        super().__init__(config, **kwargs)
        self.min_area = min_area
        self.options['model.test_cfg.panoptic_on'] = True

    def process(self, samples: List[EngineSample]) -> None:
        meta = self.inferencer.model.dataset_meta or {}
        things, stuff = meta.get('thing_classes'), meta.get('stuff_classes')
        if things is None or stuff is None:
            raise ValueError(f'{self.model_name}: the model has no thing_classes/stuff_classes '
                             f'in its dataset meta; is it a panoptic model?')
        out = self.inferencer([s.image for s in samples], batch_size=self.batch_size,
                              return_datasamples=True, no_save_vis=True)
        for sample, data_sample in zip(samples, out['predictions']):
            id_map = data_sample.pred_panoptic_seg.sem_seg.cpu().numpy()[0]
            add_segments(sample, id_map, list(things) + list(stuff), len(things), self.name,
                         self.model_name, self.min_area)
