"""Detect stages: boxes with class names and scores, written as UMG regions."""
from typing import List, Optional, Sequence, Union

import numpy as np

from umg_mm.structures.vocabulary import load_vocabulary
from .. import models
from ..registry import STAGES
from ..sample import EngineSample
from .annotations import add_regions, add_segments
from .base import ModelStage
from .umg_panoptic import UMGPanopticModelStage


@STAGES.register_module()
class UMGPanopticDetect(UMGPanopticModelStage):
    """Regions from umg_mm's open-vocabulary panoptic model: its thing instances scoring at
    least ``score_thr`` (box = the tight box of the instance's mask, tag = the class).

    Args:
        score_thr: the least instance score kept.
        See :class:`UMGPanopticModelStage` for the others.
    """
    role = 'detect'

    def __init__(self, config: str, score_thr: float = 0.3, **kwargs):
        super().__init__(config, **kwargs)
        self.score_thr = score_thr

    def process(self, samples: List[EngineSample]) -> None:
        for sample, pred in zip(samples, self.predictions(samples)):
            inst = pred['instances']
            boxes = np.array([box for *_, box in inst]).reshape(-1, 4)
            add_regions(sample, boxes, np.array([score for _, _, score, _ in inst]),
                        [pred['classes'][label] for label, *_ in inst], self.name,
                        self.model_name, self.score_thr)


@STAGES.register_module()
class MMDetDetect(ModelStage):
    """Regions from any mmdet detector, through mmdet's ``DetInferencer``.

    Closed-set detectors name their classes from the checkpoint's (or config's) dataset meta;
    open-set ones (GroundingDINO, GLIP) are prompted with ``vocabulary`` (``'a . b . c'``, as
    mmdet's grounding models take it). An instance-segmentation detector (Mask R-CNN: masks
    predicted inside each detected box) can also write its masks as segments.

    Args:
        config: a config file; ``mmdet::<path>`` names one the installed mmdet ships.
        checkpoint: its weights.
        score_thr: the least detection score kept.
        vocabulary: open-set only: class names (a list, a vocabulary file or a benchmark name).
        segments: also add each kept detection's mask as a thing segment.
        cfg_options, batch_size, name: see :class:`ModelStage`.
    """
    role = 'detect'
    build_inferencer = staticmethod(models.det_inferencer)

    def __init__(self, config: str, score_thr: float = 0.3,
                 vocabulary: Optional[Union[str, Sequence[str]]] = None, segments: bool = False,
                 **kwargs):
        super().__init__(config, **kwargs)
        self.score_thr, self.segments = score_thr, segments
        self.classes = None if vocabulary is None else load_vocabulary(vocabulary).class_names

    def process(self, samples: List[EngineSample]) -> None:
        kwargs = {}
        if self.classes is not None:
            kwargs = dict(texts=[' . '.join(self.classes)] * len(samples), custom_entities=True)
        out = self.inferencer([s.image for s in samples], batch_size=self.batch_size,
                              return_datasamples=True, no_save_vis=True, **kwargs)
        meta = self.inferencer.model.dataset_meta or {}
        for sample, data_sample in zip(samples, out['predictions']):
            inst = data_sample.pred_instances
            labels = inst.labels.cpu().numpy()
            names = [name.strip() for name in inst.label_names] if 'label_names' in inst \
                else [self._class_name(meta, label) for label in labels]  # grounding: 'a '
            scores = inst.scores.cpu().numpy()
            add_regions(sample, inst.bboxes.cpu().numpy(), scores, names, self.name,
                        self.model_name, self.score_thr)
            if self.segments and 'masks' in inst:
                self._add_masks(sample, inst.masks.cpu().numpy(), scores, names)

    def _class_name(self, meta: dict, label: int) -> str:
        classes = self.classes or meta.get('classes')
        if not classes or label >= len(classes):
            raise ValueError(f'{self.model_name}: label {label} has no class name; give '
                             f'vocabulary=[...] or a checkpoint whose meta has the classes')
        return classes[label]

    def _add_masks(self, sample, masks: np.ndarray, scores, names) -> None:
        """Each kept detection's mask as a thing segment (an id map per mask)."""
        for mask, score, name in zip(masks, scores, names):
            if score < self.score_thr or not mask.any():
                continue
            id_map = np.where(mask, 0, 1)  # label 0 = this class, 1 = void
            add_segments(sample, id_map, [name], 1, self.name, self.model_name,
                         thing_scores=[(0, mask.astype(bool), float(score))])
