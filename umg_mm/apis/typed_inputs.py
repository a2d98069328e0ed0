"""Vocabularies and boxes typed as text (``tools/demo.py``'s arguments, the web demo's fields)."""
import os.path as osp
import re
from typing import List, Optional, Sequence, Union

from umg_mm.structures.vocabulary import list_vocabularies


def parse_vocabulary(spec: Optional[str]) -> Union[None, str, List[str]]:
    """A file or a shipped name as it is; otherwise comma-separated names, ``|`` for synonyms
    (``'car|automobile, grass'`` -> ``['car, automobile', 'grass']``)."""
    if spec is None or osp.isfile(spec) or spec in list_vocabularies():
        return spec
    return [', '.join(s.strip() for s in item.split('|')) for item in spec.split(',')
            if item.strip()]


def parse_boxes(items: Optional[Union[str, Sequence[str]]]) -> Optional[List[List[float]]]:
    """Boxes ``'x1,y1,x2,y2'`` (a list of them, or one text with a box per line or ``;``) ->
    a list of 4-number lists."""
    if items is None:
        return None
    if isinstance(items, str):
        items = [item for item in re.split(r'[;\n]', items) if item.strip()]
    boxes = []
    for item in items:
        values = item.split(',')
        try:
            boxes.append([float(v) for v in values])
        except ValueError:
            boxes.append([])
        if len(boxes[-1]) != 4:
            raise ValueError(f'box {item.strip()!r}: give each box as X1,Y1,X2,Y2 (numbers, in '
                             f'pixels)')
    return boxes
