"""One image moving through the engine: its pixels, the UMG record being built, provenance.

Every text, region and segment a stage adds carries its provenance under ``extra`` (the only
place the schema allows free data): regions and segments get ``extra = {stage, model, score,
...}``; texts (image or region captions and tags) get a parallel list
``extra['provenance'][field][i] = {stage, model, score}`` for ``field[i]``, so that a filter
drops a text and its provenance together.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from umg_mm.datasets.schema import SCHEMA_VERSION
from .sources import ImageItem

TEXT_FIELDS = ('captions', 'tags')
LEVELS = ('regions', 'segments')


def provenance(stage: str, model: str, score: Optional[float]) -> dict:
    """The provenance of one annotation (``score`` rounded to 4 places, ``None`` if the model
    gives none)."""
    return dict(stage=stage, model=model, score=None if score is None else round(float(score), 4))


def add_text(owner: dict, field_name: str, text: str, origin: dict) -> bool:
    """Append ``text`` to ``owner[field_name]`` with its provenance; a text already there is
    not repeated.

    Returns:
        Whether the text was added.
    """
    texts = owner.setdefault(field_name, [])
    if text in texts:
        return False
    texts.append(text)
    extra = owner.setdefault('extra', {})
    extra.setdefault('provenance', {}).setdefault(field_name, []).append(origin)
    return True


def keep_texts(owner: dict, field_name: str, keep: Sequence[bool]) -> int:
    """Keep the texts of ``owner[field_name]`` (and their provenance) where ``keep`` is true.

    Returns:
        How many were dropped.
    """
    texts = owner.get(field_name, [])
    if len(keep) != len(texts):
        raise ValueError(f'{len(keep)} keep flags for {len(texts)} {field_name}')
    owner[field_name] = [t for t, k in zip(texts, keep) if k]
    origins = owner.get('extra', {}).get('provenance', {}).get(field_name)
    if origins is not None:
        owner['extra']['provenance'][field_name] = [o for o, k in zip(origins, keep) if k]
    return len(texts) - len(owner[field_name])


def has_text(owner: dict) -> bool:
    """Whether a region or segment still has a caption or a tag (the schema needs one)."""
    return any(owner.get(name) for name in TEXT_FIELDS)


@dataclass
class EngineSample:
    """One image and its record in progress.

    Attributes:
        item: where the image comes from.
        image: ``(H, W, 3)`` BGR ``uint8``.
        record: the UMG record (``umg/1``) being built.
        cache: predictions that several stages share, keyed by the model that made them.
    """
    item: ImageItem
    image: np.ndarray
    record: dict = None
    cache: Dict[str, object] = field(default_factory=dict)

    def __post_init__(self):
        if self.record is None:
            height, width = self.image.shape[:2]
            self.record = dict(schema=SCHEMA_VERSION,
                               image=dict(file_name=self.item.file_name, height=int(height),
                                          width=int(width), id=self.item.key),
                               captions=[], tags=[], regions=[], segments=[])

    @property
    def height(self) -> int:
        return self.record['image']['height']

    @property
    def width(self) -> int:
        return self.record['image']['width']


def record_counts(record: dict) -> Dict[str, int]:
    """How many regions, segments and texts (captions and tags at every level) ``record`` has."""
    texts = sum(len(record.get(name, [])) for name in TEXT_FIELDS)
    for level in LEVELS:
        texts += sum(len(obj.get(name, [])) for obj in record.get(level, [])
                     for name in TEXT_FIELDS)
    return dict(regions=len(record.get('regions', [])),
                segments=len(record.get('segments', [])), texts=texts)


def finish_record(record: dict) -> dict:
    """The record as written: regions and segments without text dropped (the schema needs one)
    and empty lists left out."""
    out = dict(record)
    for level in LEVELS:
        out[level] = [obj for obj in record.get(level, []) if has_text(obj)]
    return {key: value for key, value in out.items() if value != []}


def keep_classes(record: dict, classes: Sequence[str]) -> Optional[dict]:
    """A written record reduced to the annotations of ``classes`` (e.g. the classes the engine
    labels well): regions and segments whose first tag is one of them, image tags among them
    (their provenance kept alongside); image captions are dropped, as they may name anything.

    Returns:
        The reduced record, or ``None`` if it has no text left.
    """
    classes = set(classes)
    out = dict(record, captions=[], tags=list(record.get('tags', [])))
    origins = record.get('extra', {}).get('provenance')
    if origins is not None:  # copied, so that the input is left as it was
        out['extra'] = dict(record['extra'], provenance={
            name: list(value) for name, value in origins.items() if name != 'captions'})
    keep_texts(out, 'tags', [tag in classes for tag in out['tags']])
    for level in LEVELS:
        out[level] = [obj for obj in record.get(level, []) if obj.get('tags')
                      and obj['tags'][0] in classes]
    out = finish_record(out)
    return out if record_counts(out)['texts'] else None


def counts_delta(before: List[Dict[str, int]], after: List[Dict[str, int]]) -> Dict[str, int]:
    """What a stage added and dropped, summed over images: ``<kind>_added`` and
    ``<kind>_dropped`` for regions, segments and texts."""
    delta: Dict[str, int] = {}
    for b, a in zip(before, after):
        for kind in ('regions', 'segments', 'texts'):
            change = a[kind] - b[kind]
            delta[f'{kind}_added'] = delta.get(f'{kind}_added', 0) + max(change, 0)
            delta[f'{kind}_dropped'] = delta.get(f'{kind}_dropped', 0) + max(-change, 0)
    return delta
