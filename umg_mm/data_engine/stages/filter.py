"""Filter stage: texts whose UMG-CLIP score is too low are dropped, as UMG-CLIP's data were
filtered by CLIP score."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import pycocotools.mask as mask_utils

from umg_mm.structures.vocabulary import Vocabulary
from .. import models
from ..registry import STAGES
from ..sample import TEXT_FIELDS, EngineSample, has_text, keep_texts
from .base import ModelStage


@STAGES.register_module()
class UMGScoreFilter(ModelStage):
    """Drop the texts a UMG-CLIP (pretraining) model scores under a threshold.

    Image texts are scored by the cosine similarity of the image and text embeddings (the
    ``retrieval`` task); region texts by that of the region's pooled dense embedding (the
    ``region`` task, mmcv's RoIAlign); segment texts by that of the segment's tight box. Each
    kept text's provenance gains ``filter_score``; a region or segment left without text is
    dropped (the schema needs one).

    Args:
        config: a UMG-CLIP pretraining config (``UMGCLIPPretrainer``).
        checkpoint: its checkpoint.
        image_thr / region_thr / segment_thr: the least cosine similarity kept at each level
            (``None``: that level is not filtered).
        image_fields: which image-level texts are filtered (``'captions'``, ``'tags'``).
        cfg_options, batch_size, name: see :class:`ModelStage`.
    """
    role = 'filter'
    build_inferencer = staticmethod(models.umg_inferencer)

    def __init__(self, config: str, image_thr: Optional[float] = 0.2,
                 region_thr: Optional[float] = None, segment_thr: Optional[float] = None,
                 image_fields: Sequence[str] = ('captions', ), **kwargs):
        super().__init__(config, **kwargs)
        unknown = set(image_fields) - set(TEXT_FIELDS)
        if unknown:
            raise ValueError(f'UMGScoreFilter image_fields {sorted(unknown)}; allowed: '
                             f'{list(TEXT_FIELDS)}')
        self.thresholds = dict(image=image_thr, regions=region_thr, segments=segment_thr)
        self.image_fields = tuple(image_fields)

    def process(self, samples: List[EngineSample]) -> None:
        if self.thresholds['image'] is not None:
            self._filter_images(samples)
        levels = [level for level in ('regions', 'segments') if self.thresholds[level] is not None]
        if levels:
            self._filter_objects(samples, levels)

    def _keep(self, owner: dict, scores: Dict[str, float], threshold: float,
              fields: Sequence[str]) -> None:
        """Keep ``owner``'s texts of ``fields`` scoring at least ``threshold``."""
        for name in fields:
            texts = owner.get(name, [])
            origins = owner.get('extra', {}).get('provenance', {}).get(name, [])
            for text, origin in zip(texts, origins):
                origin['filter_score'] = round(float(scores[text]), 4)
            keep_texts(owner, name, [scores[t] >= threshold for t in texts])

    def _filter_images(self, samples: List[EngineSample]) -> None:
        texts = _unique(t for s in samples for f in self.image_fields for t in s.record[f])
        if not texts:
            return
        out = self.inferencer([s.image for s in samples], task='retrieval', texts=texts,
                              batch_size=self.batch_size)
        for sample, row in zip(samples, out['similarity']):
            self._keep(sample.record, dict(zip(texts, row)), self.thresholds['image'],
                       self.image_fields)

    def _filter_objects(self, samples: List[EngineSample], levels: Sequence[str]) -> None:
        """Score each region's / segment's texts against its box; drop the low ones."""
        owners, images, boxes = [], [], []
        for sample in samples:
            objects = [(level, obj) for level in levels for obj in sample.record[level]]
            if objects:
                owners.append(objects)
                images.append(sample.image)
                boxes.append(np.array([obj['bbox'] if level == 'regions' else
                                       _mask_box(obj['segmentation'])
                                       for level, obj in objects], dtype=np.float32))
        texts = _unique(t for objects in owners for _, obj in objects
                        for f in TEXT_FIELDS for t in obj.get(f, []))
        if not texts:
            return
        vocabulary = Vocabulary(tuple((text, ) for text in texts), '<texts>')
        out = self.inferencer(images, task='region', boxes=boxes, vocabulary=vocabulary,
                              templates=['{}'], batch_size=self.batch_size)
        for sample_objects, prediction in zip(owners, out['predictions']):
            for (level, obj), scores in zip(sample_objects, prediction['class_scores']):
                self._keep(obj, dict(zip(texts, scores)), self.thresholds[level], TEXT_FIELDS)
        for sample in samples:
            for level in levels:
                sample.record[level] = [obj for obj in sample.record[level] if has_text(obj)]


def _unique(texts) -> List[str]:
    return list(dict.fromkeys(texts))


def _mask_box(segmentation: dict) -> List[float]:
    """``[x1, y1, x2, y2]`` of an RLE mask (COCO's ``toBbox`` is ``x, y, w, h``)."""
    x, y, w, h = mask_utils.toBbox(segmentation).tolist()
    return [x, y, x + max(w, 1.), y + max(h, 1.)]
