"""The vocabulary of the synthetic world: shapes (things), textures (stuff), colours and sizes.

The category order is fixed: things first, then stuff, as mmdet's panoptic heads expect (thing
labels ``0 .. num_things - 1``, stuff labels after them). COCO category ids are ``index + 1``.
"""
from typing import Dict, List, Sequence, Tuple

THING_CLASSES: Tuple[str, ...] = ('circle', 'square', 'triangle', 'star', 'hexagon', 'ring',
                                  'cross', 'heart', 'diamond', 'crescent')
STUFF_CLASSES: Tuple[str, ...] = ('sky', 'grass', 'water', 'sand', 'brick', 'snow', 'wood')
ALL_CLASSES: Tuple[str, ...] = THING_CLASSES + STUFF_CLASSES

DEFAULT_HELD_OUT_THINGS: Tuple[str, ...] = ('star', 'heart')
DEFAULT_HELD_OUT_STUFF: Tuple[str, ...] = ('brick', )

#: Colour name -> RGB of the flat paint of a thing.
COLOURS: Dict[str, Tuple[int, int, int]] = {
    'red': (220, 30, 30),
    'orange': (245, 140, 20),
    'yellow': (240, 220, 30),
    'green': (40, 170, 60),
    'blue': (30, 70, 220),
    'purple': (140, 50, 190),
    'pink': (245, 120, 180),
    'black': (25, 25, 25),
}

#: Size word -> range of the shape's outer radius as a fraction of the image's shorter side.
SIZES: Dict[str, Tuple[float, float]] = {
    'small': (0.12, 0.15),
    'medium': (0.17, 0.21),
    'large': (0.23, 0.28),
}


def category_id(name: str) -> int:
    """COCO category id of a class of the synthetic world (its index in ``ALL_CLASSES`` + 1)."""
    return ALL_CLASSES.index(name) + 1


def parse_held_out(names: Sequence[str], allowed: Sequence[str], kind: str) -> Tuple[str, ...]:
    """Check a list of held-out category names and return it in vocabulary order.

    Args:
        names (Sequence[str]): Names chosen by the user (duplicates are ignored).
        allowed (Sequence[str]): The categories of that kind (``THING_CLASSES`` or
            ``STUFF_CLASSES``).
        kind (str): ``'thing'`` or ``'stuff'``, for the error message.

    Returns:
        tuple[str]: The names, ordered as in ``allowed``.

    Raises:
        ValueError: A name is not a category of that kind, or every category is held out.
    """
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(f'held-out {kind} categories {unknown} are not {kind} categories of the '
                         f'synthetic world; choose among {list(allowed)}')
    chosen = tuple(n for n in allowed if n in set(names))
    if len(chosen) == len(allowed):
        raise ValueError(f'all {kind} categories {list(allowed)} are held out; at least one '
                         f'must stay in the segmentation training labels')
    return chosen


def seen_classes(held_out: Sequence[str]) -> List[str]:
    """The classes of the segmentation training labels: ``ALL_CLASSES`` without ``held_out``."""
    return [n for n in ALL_CLASSES if n not in set(held_out)]
