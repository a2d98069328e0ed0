"""Text transforms for UMG samples: keep the words of captions true to an augmented image."""
import re

from mmcv.transforms import BaseTransform

from umg_mm.registry import TRANSFORMS

_SWAPS = {'left': 'right', 'right': 'left', 'leftmost': 'rightmost', 'rightmost': 'leftmost'}
_WORD = re.compile(r'\b(left|right|leftmost|rightmost)\b', re.IGNORECASE)


def swap_left_right(text: str) -> str:
    """Swap the words left/right (and leftmost/rightmost), keeping their case.

    >>> swap_left_right('A star Left of the circle, right edge')
    'A star Right of the circle, left edge'
    """

    def swap(match: re.Match) -> str:
        word = match.group(0)
        new = _SWAPS[word.lower()]
        if word.isupper():
            return new.upper()
        return new.capitalize() if word[0].isupper() else new

    return _WORD.sub(swap, text)


@TRANSFORMS.register_module()
class SwapLeftRightOnFlip(BaseTransform):
    """After a horizontal flip, swap 'left' and 'right' in every caption and tag of the sample.

    Put it right after mmdet's ``RandomFlip``: it reads ``flip`` and ``flip_direction`` that
    ``RandomFlip`` sets and changes the texts only when the image was flipped horizontally (or
    diagonally). Leave it out when texts must stay as annotated (e.g. 'left lane' as a name).

    Required keys: ``flip``, ``flip_direction`` (optional: nothing happens without them).
    Modified keys: ``img_text``, ``img_captions``, ``img_tags``, and ``text``, ``captions``,
    ``tags`` of every entry in ``umg_instances``.
    """

    def transform(self, results: dict) -> dict:
        """Swap the words in place when the image was flipped horizontally."""
        if not results.get('flip') or results.get('flip_direction') not in ('horizontal',
                                                                             'diagonal'):
            return results
        if results.get('img_text') is not None:
            results['img_text'] = swap_left_right(results['img_text'])
        for key in ('img_captions', 'img_tags'):
            if key in results:
                results[key] = [swap_left_right(t) for t in results[key]]
        for entry in results.get('umg_instances', []):
            if entry['text'] is not None:
                entry['text'] = swap_left_right(entry['text'])
            entry['captions'] = [swap_left_right(t) for t in entry['captions']]
            entry['tags'] = [swap_left_right(t) for t in entry['tags']]
        return results
