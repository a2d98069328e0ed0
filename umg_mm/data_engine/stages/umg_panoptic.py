"""umg_mm's open-vocabulary panoptic model (``OpenVocabMask2Former``) as the engine runs it: one
forward per image yields both the instances (detect) and the panoptic map (segment)."""
from typing import List, Optional

import numpy as np

from .. import models
from ..sample import EngineSample
from .base import ModelStage

#: what the model must output for the engine: instances with scores, and the panoptic map
ENGINE_TEST_CFG = {'model.test_cfg.instance_on': True, 'model.test_cfg.panoptic_on': True}


class UMGPanopticModelStage(ModelStage):
    """A stage that reads the predictions of a umg_mm panoptic model.

    Args:
        config: the model's config (e.g. ``configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_``
            ``synthetic-panoptic-64x64.py``).
        checkpoint: its checkpoint.
        vocabulary: ``dict(thing_classes=..., stuff_classes=...)`` (lists, files or benchmark
            names) to predict over; ``None``: the model's own.
        cfg_options, batch_size, name: see :class:`ModelStage`.
    """

    build_inferencer = staticmethod(models.umg_inferencer)

    def __init__(self, config: str, vocabulary: Optional[dict] = None, **kwargs):
        super().__init__(config, **kwargs)
        self.vocabulary = vocabulary
        self.options.update(ENGINE_TEST_CFG)

    @property
    def cache_key(self) -> str:
        return f'umg_panoptic:{self.model_name}:{models.freeze(self.options)}:' \
               f'{models.freeze(self.vocabulary)}'

    def predictions(self, samples: List[EngineSample]) -> List[dict]:
        """Per image ``dict(classes, num_things, id_map (H, W), instances)``; ``instances`` are
        ``(label, mask (H, W) bool, score, box (4,))`` of thing classes. Computed once per
        image and shared by the stages that run this model."""
        missing = [s for s in samples if self.cache_key not in s.cache]
        if missing:
            out = self.inferencer([s.image for s in missing], vocabulary=self.vocabulary,
                                  batch_size=self.batch_size, return_datasamples=True)
            num_things = self.inferencer.model.num_things_classes
            for sample, data_sample in zip(missing, out['predictions']):
                sample.cache[self.cache_key] = dict(
                    classes=out['classes'], num_things=num_things,
                    id_map=self.inferencer.pred2dict(data_sample)['panoptic_seg'],
                    instances=_instances(data_sample, num_things))
        return [s.cache[self.cache_key] for s in samples]


def _instances(data_sample, num_things: int) -> List[tuple]:
    """The thing instances of mmdet's ``pred_instances`` as plain arrays."""
    if 'pred_instances' not in data_sample:
        return []
    inst = data_sample.pred_instances
    labels = inst.labels.cpu().numpy()
    keep = labels < num_things
    masks = inst.masks.cpu().numpy().astype(bool)[keep]
    return [(int(label), mask, float(score), box) for label, mask, score, box in zip(
        labels[keep], masks, inst.scores.cpu().numpy()[keep],
        inst.bboxes.cpu().numpy().astype(np.float64)[keep])]
