import pytest

from umg_mm.datasets.transforms import swap_left_right
from umg_mm.registry import TRANSFORMS


@pytest.mark.parametrize('text, expected', [
    ('a star left of a circle', 'a star right of a circle'),
    ('Left: a star. RIGHT: a ring', 'Right: a star. LEFT: a ring'),
    ('the leftmost and the rightmost star', 'the rightmost and the leftmost star'),
    ('a bright, upright star; leftover paint', 'a bright, upright star; leftover paint'),
    ('left-hand side', 'right-hand side'),
])
def test_swap_left_right(text, expected):
    assert swap_left_right(text) == expected


def _results(flip, direction):
    return dict(flip=flip, flip_direction=direction, img_text='left star',
                img_captions=['left star', 'a right ring'], img_tags=['left'],
                umg_instances=[dict(level='region', text='the left one', captions=['the left one'],
                                    tags=['star'], isthing=None),
                               dict(level='segment', text=None, captions=[], tags=['sky'],
                                    isthing=False)])


@pytest.mark.parametrize('direction', ['horizontal', 'diagonal'])
def test_swaps_on_horizontal_flips(direction):
    out = TRANSFORMS.build(dict(type='SwapLeftRightOnFlip'))(_results(True, direction))
    assert out['img_text'] == 'right star'
    assert out['img_captions'] == ['right star', 'a left ring'] and out['img_tags'] == ['right']
    assert out['umg_instances'][0]['text'] == 'the right one'
    assert out['umg_instances'][0]['captions'] == ['the right one']
    assert out['umg_instances'][1]['text'] is None


@pytest.mark.parametrize('flip, direction', [(True, 'vertical'), (False, None),
                                             (False, 'horizontal')])
def test_no_swap_otherwise(flip, direction):
    out = TRANSFORMS.build(dict(type='SwapLeftRightOnFlip'))(_results(flip, direction))
    assert out['img_text'] == 'left star' and out['umg_instances'][0]['text'] == 'the left one'
