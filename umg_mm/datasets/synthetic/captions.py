"""The caption grammar of the synthetic world and its optional noise.

A scene is described by its things (size, colour, shape, box) and its stuff layout. Image
captions name the objects, their attributes and where they are relative to each other, so a
model can only ground each object by aligning regions and pixels with the words; region and
segment captions describe one object each.
"""
from typing import List, Sequence

import numpy as np

_NUMBERS = {1: 'one', 2: 'two', 3: 'three', 4: 'four', 5: 'five', 6: 'six'}

#: Words that the caption noise may replace with a synonym.
SYNONYMS = {
    'small': ('tiny', 'little'),
    'large': ('big', 'huge'),
    'medium': ('mid-sized', ),
    'circle': ('disc', ),
    'square': ('box', ),
    'ring': ('donut', ),
    'crescent': ('moon', ),
    'above': ('over', ),
    'below': ('under', ),
    'shapes': ('objects', ),
    'picture': ('image', ),
}
_ATTRIBUTE_WORDS = ('small', 'medium', 'large', 'red', 'orange', 'yellow', 'green', 'blue',
                    'purple', 'pink', 'black')


def article(word: str) -> str:
    """``'an'`` before a vowel sound, else ``'a'``."""
    return 'an' if word[0] in 'aeiou' else 'a'


def noun_phrase(size: str, colour: str, shape: str) -> str:
    """``'a small red star'``."""
    return f'{article(size)} {size} {colour} {shape}'


def relation(box_a: Sequence[float], box_b: Sequence[float]) -> str:
    """Where box ``a`` lies relative to box ``b`` (``xyxy``), along the axis of larger offset.

    Returns:
        str: One of ``'to the left of'``, ``'to the right of'``, ``'above'``, ``'below'``.
    """
    dx = (box_a[0] + box_a[2] - box_b[0] - box_b[2]) / 2
    dy = (box_a[1] + box_a[3] - box_b[1] - box_b[3]) / 2
    if abs(dx) >= abs(dy):
        return 'to the left of' if dx < 0 else 'to the right of'
    return 'above' if dy < 0 else 'below'


def join_words(items: Sequence[str]) -> str:
    """``'a, b and c'``."""
    items = list(items)
    return items[0] if len(items) == 1 else ', '.join(items[:-1]) + ' and ' + items[-1]


def stuff_phrase(layout: str, stuff: Sequence[str]) -> str:
    """Describe the background.

    Args:
        layout (str): ``'single'``, ``'horizontal'`` (bands listed top to bottom) or
            ``'vertical'`` (bands listed left to right).
        stuff (Sequence[str]): The stuff classes of the bands.
    """
    if layout == 'single':
        return f'on {stuff[0]}'
    if layout == 'horizontal' and len(stuff) == 2:
        return f'on {stuff[1]} under {stuff[0]}'
    if layout == 'horizontal':
        return f'with {stuff[0]} at the top, {stuff[1]} in the middle and {stuff[2]} at the bottom'
    if len(stuff) == 2:
        return f'with {stuff[0]} on the left and {stuff[1]} on the right'
    return f'with {stuff[0]} on the left, {stuff[1]} in the middle and {stuff[2]} on the right'


def image_captions(things: List[dict], layout: str, stuff: Sequence[str],
                   rng: np.random.Generator) -> List[str]:
    """Three image-level captions of one scene.

    Args:
        things (list[dict]): Each with ``size``, ``colour``, ``shape`` and ``bbox`` (``xyxy``).
        layout (str): The stuff layout, see :func:`stuff_phrase`.
        stuff (Sequence[str]): The stuff classes of the layout's bands.
        rng (np.random.Generator): Chooses the order in which objects are mentioned.

    Returns:
        list[str]: A layout caption ('a small red star to the left of a large blue circle, on
        grass under sky'), an inventory ('two shapes: a red star and a blue circle, with grass
        and sky') and a short one ('a star and a circle on grass and sky').
    """
    order = [things[i] for i in rng.permutation(len(things))]
    background = stuff_phrase(layout, stuff)
    first = noun_phrase(order[0]['size'], order[0]['colour'], order[0]['shape'])
    if len(order) == 1:
        layout_caption = f'{first} {background}'
    else:
        clauses = [f'{first} {relation(order[0]["bbox"], order[1]["bbox"])} '
                   + noun_phrase(order[1]['size'], order[1]['colour'], order[1]['shape'])]
        for prev, cur in zip(order[1:], order[2:]):
            clauses.append(f'{noun_phrase(cur["size"], cur["colour"], cur["shape"])} '
                           f'{relation(cur["bbox"], prev["bbox"])} the {prev["colour"]} '
                           f'{prev["shape"]}')
        layout_caption = ', and '.join(clauses) + f', {background}'
    count = _NUMBERS.get(len(things), str(len(things)))
    noun = 'shape' if len(things) == 1 else 'shapes'
    listed = join_words(f'{article(t["colour"])} {t["colour"]} {t["shape"]}' for t in order)
    unique_stuff = list(dict.fromkeys(stuff))
    inventory = f'{count} {noun}: {listed}, with {join_words(unique_stuff)}'
    shapes = join_words(f'{article(t["shape"])} {t["shape"]}' for t in order)
    short = f'a picture of {shapes} on {join_words(unique_stuff)}'
    return [layout_caption, inventory, short]


def add_noise(caption: str, rng: np.random.Generator, prob: float) -> str:
    """With probability ``prob``, corrupt a caption as web captions are corrupted.

    One of three edits is applied: replace words by synonyms (each known word with probability
    1/2), drop one attribute word (size or colour), or swap two neighbouring words.

    Args:
        caption (str): A clean caption.
        rng (np.random.Generator): Source of randomness (the caption stays deterministic).
        prob (float): Probability in ``[0, 1]`` that the caption is edited.

    Returns:
        str: The caption, edited or not; never empty.
    """
    if prob <= 0 or rng.random() >= prob:
        return caption
    words = caption.split(' ')
    edit = int(rng.integers(3))
    if edit == 0:
        words = [str(rng.choice(SYNONYMS[w])) if w in SYNONYMS and rng.random() < 0.5 else w
                 for w in words]
    elif edit == 1:
        candidates = [i for i, w in enumerate(words) if w.strip(',:') in _ATTRIBUTE_WORDS]
        if candidates:
            del words[int(rng.choice(candidates))]
    elif len(words) > 1:
        i = int(rng.integers(len(words) - 1))
        words[i], words[i + 1] = words[i + 1], words[i]
    return ' '.join(words)
