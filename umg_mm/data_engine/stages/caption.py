"""Caption stages: image and region captions from a captioner, or written from the layout."""
from typing import List, Optional, Sequence

import numpy as np

from .. import models
from ..registry import STAGES
from ..sample import EngineSample, add_text, provenance
from .base import BaseStage, ModelStage

_COLUMNS = ('left', 'center', 'right')
_ROWS = ('top', 'middle', 'bottom')


def position_phrase(box: Sequence[float], width: int, height: int) -> str:
    """Where a box's centre lies in a 3x3 grid of the image: ``'at the top left'``,
    ``'in the middle'``, ``'on the right'``..."""
    col = _COLUMNS[min(2, int(3 * (box[0] + box[2]) / 2 / width))]
    row = _ROWS[min(2, int(3 * (box[1] + box[3]) / 2 / height))]
    if row == 'middle':
        return 'in the middle' if col == 'center' else f'on the {col}'
    return f'at the {row}' if col == 'center' else f'at the {row} {col}'


def size_word(box: Sequence[float], width: int, height: int,
              bounds: Sequence[float] = (0.2, 0.3)) -> str:
    """``'small'``, ``'medium'`` or ``'large'`` by the box's side relative to the image's
    (``sqrt(box area / image area)`` under ``bounds[0]``, under ``bounds[1]``, above)."""
    side = np.sqrt(max(box[2] - box[0], 0) * max(box[3] - box[1], 0) / (width * height))
    return 'small' if side < bounds[0] else 'medium' if side < bounds[1] else 'large'


def _join(phrases: Sequence[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ', '.join(phrases[:-1]) + ' and ' + phrases[-1]


@STAGES.register_module()
class LayoutCaption(BaseStage):
    """Captions written from what the earlier stages found (the fallback where no captioner
    checkpoint is at hand): each region gets ``'a <size> <name>'``; the image gets its regions
    with their positions and its stuff (``'a small star at the top left and a large circle on
    the right, on grass and sky'``).

    Args:
        max_regions: at most this many regions (best scored first) in the image caption.
        size_bounds: see :func:`size_word`.
        batch_size, name: see :class:`BaseStage`.
    """
    role = 'caption'

    def __init__(self, max_regions: int = 6, size_bounds: Sequence[float] = (0.2, 0.3),
                 **kwargs):
        super().__init__(**kwargs)
        self.max_regions, self.size_bounds = max_regions, tuple(size_bounds)

    @property
    def model_name(self) -> str:
        return 'layout'

    def process(self, samples: List[EngineSample]) -> None:
        for sample in samples:
            w, h = sample.width, sample.height
            origin = provenance(self.name, self.model_name, None)
            mentions = []
            for region in sample.record['regions']:
                if not region.get('tags'):
                    continue
                phrase = f'a {size_word(region["bbox"], w, h, self.size_bounds)} ' \
                         f'{region["tags"][0]}'
                add_text(region, 'captions', phrase, origin)
                score = region.get('extra', {}).get('score')
                mentions.append((-(score or 0.),
                                 f'{phrase} {position_phrase(region["bbox"], w, h)}'))
            things = [text for _, text in sorted(mentions)[:self.max_regions]]
            stuff = []
            for segment in sample.record['segments']:
                if not segment['isthing'] and segment.get('tags') and \
                        segment['tags'][0] not in stuff:
                    stuff.append(segment['tags'][0])
            parts = ([_join(things)] if things else []) + ([f'on {_join(stuff)}'] if stuff
                                                            else [])
            if parts:
                add_text(sample.record, 'captions', ', '.join(parts), origin)


@STAGES.register_module()
class MMPretrainCaption(ModelStage):
    """Captions from an mmpretrain captioner (BLIP-class configs that mmpretrain ships, e.g.
    ``mmpretrain::blip/blip-base_8xb32_caption.py``), through its ``ImageCaptionInferencer``;
    captions carry no score (the filter stage scores them).

    Args:
        config: a captioning config; ``mmpretrain::<path>`` names one the package ships.
        checkpoint: its weights.
        regions: also caption each region (its box cropped with ``region_padding`` of its side
            around it), if at least ``min_region_size`` pixels on each side.
        cfg_options, batch_size, name: see :class:`ModelStage`.
    """
    role = 'caption'
    build_inferencer = staticmethod(models.caption_inferencer)

    def __init__(self, config: str, regions: bool = False, min_region_size: int = 16,
                 region_padding: float = 0.1, **kwargs):
        super().__init__(config, **kwargs)
        self.regions = regions
        self.min_region_size, self.region_padding = min_region_size, region_padding

    def _captions(self, images: List[np.ndarray]) -> List[str]:
        if not images:
            return []
        out = self.inferencer(images, batch_size=self.batch_size)
        return [prediction['pred_caption'].strip() for prediction in out]

    def process(self, samples: List[EngineSample]) -> None:
        origin = provenance(self.name, self.model_name, None)
        for sample, caption in zip(samples, self._captions([s.image for s in samples])):
            if caption:
                add_text(sample.record, 'captions', caption, origin)
        if not self.regions:
            return
        crops, owners = [], []
        for sample in samples:
            for region in sample.record['regions']:
                crop = self._crop(sample.image, region['bbox'])
                if crop is not None:
                    crops.append(crop)
                    owners.append(region)
        for region, caption in zip(owners, self._captions(crops)):
            if caption:
                add_text(region, 'captions', caption, origin)

    def _crop(self, image: np.ndarray, box: Sequence[float]) -> Optional[np.ndarray]:
        x1, y1, x2, y2 = box
        if min(x2 - x1, y2 - y1) < self.min_region_size:
            return None
        pad_x, pad_y = (x2 - x1) * self.region_padding, (y2 - y1) * self.region_padding
        h, w = image.shape[:2]
        x1, y1 = int(max(0, x1 - pad_x)), int(max(0, y1 - pad_y))
        x2, y2 = int(min(w, np.ceil(x2 + pad_x))), int(min(h, np.ceil(y2 + pad_y)))
        return np.ascontiguousarray(image[y1:y2, x1:x2])
