"""Tag stage: image-level tags from umg_mm's zero-shot classifier over a tag vocabulary."""
from typing import List, Optional, Sequence, Union

from umg_mm.structures.vocabulary import load_vocabulary
from .. import models
from ..registry import STAGES
from ..sample import EngineSample, add_text, provenance
from .base import ModelStage


@STAGES.register_module()
class UMGZeroShotTag(ModelStage):
    """Image tags: the vocabulary's classes whose cosine similarity with the image embedding of
    a UMG-CLIP (pretraining) model is at least ``threshold``, best first.

    Args:
        config: a UMG-CLIP pretraining config (``UMGCLIPPretrainer``).
        checkpoint: its checkpoint.
        vocabulary: the tags: a list, a vocabulary file or a shipped benchmark name.
        threshold: the least cosine similarity kept.
        max_tags: at most this many tags per image (``None``: no limit).
        templates: prompt templates (default: the config's).
        cfg_options, batch_size, name: see :class:`ModelStage`.
    """
    role = 'tag'
    build_inferencer = staticmethod(models.umg_inferencer)

    def __init__(self, config: str, vocabulary: Union[str, Sequence[str]],
                 threshold: float = 0.2, max_tags: Optional[int] = None, templates=None,
                 **kwargs):
        super().__init__(config, **kwargs)
        self.vocabulary = load_vocabulary(vocabulary)
        self.threshold, self.max_tags, self.templates = threshold, max_tags, templates

    def process(self, samples: List[EngineSample]) -> None:
        out = self.inferencer([s.image for s in samples], task='classification',
                              vocabulary=self.vocabulary, templates=self.templates, topk=1,
                              batch_size=self.batch_size)
        for sample, prediction in zip(samples, out['predictions']):
            scores = prediction['class_scores']
            ranked = sorted(range(len(scores)), key=lambda k: -scores[k])
            kept = [k for k in ranked if scores[k] >= self.threshold][:self.max_tags]
            for k in kept:
                add_text(sample.record, 'tags', out['classes'][k],
                         provenance(self.name, self.model_name, scores[k]))
