import numpy as np
import pytest

from umg_mm.datasets.synthetic.captions import (add_noise, image_captions, noun_phrase,
                                                relation, stuff_phrase)


def test_noun_phrase_and_article():
    assert noun_phrase('small', 'red', 'star') == 'a small red star'
    assert noun_phrase('large', 'orange', 'ring') == 'a large orange ring'


@pytest.mark.parametrize('box_a,box_b,expected', [
    ((0, 0, 10, 10), (20, 2, 30, 12), 'to the left of'),
    ((20, 0, 30, 10), (0, 2, 10, 12), 'to the right of'),
    ((0, 0, 10, 10), (2, 20, 12, 30), 'above'),
    ((0, 30, 10, 40), (2, 0, 12, 10), 'below'),
])
def test_relation(box_a, box_b, expected):
    assert relation(box_a, box_b) == expected


def test_stuff_phrase():
    assert stuff_phrase('single', ['grass']) == 'on grass'
    assert stuff_phrase('horizontal', ['sky', 'grass']) == 'on grass under sky'
    assert stuff_phrase('vertical', ['sand', 'water']) == (
        'with sand on the left and water on the right')
    assert stuff_phrase('horizontal', ['sky', 'water', 'sand']) == (
        'with sky at the top, water in the middle and sand at the bottom')


def test_image_captions_name_relations_between_things():
    things = [dict(size='small', colour='red', shape='star', bbox=[0, 0, 10, 10]),
              dict(size='large', colour='blue', shape='circle', bbox=[40, 0, 60, 20])]
    captions = image_captions(things, 'horizontal', ['sky', 'grass'], np.random.default_rng(0))
    assert captions[0] in (
        'a small red star to the left of a large blue circle, on grass under sky',
        'a large blue circle to the right of a small red star, on grass under sky')
    assert captions[1] in ('two shapes: a red star and a blue circle, with sky and grass',
                           'two shapes: a blue circle and a red star, with sky and grass')
    assert 'star' in captions[2] and 'circle' in captions[2] and 'left' not in captions[2]


def test_noise_is_seeded_and_controlled_by_probability():
    caption = 'a small red star to the left of a large blue circle, on grass under sky'
    assert add_noise(caption, np.random.default_rng(0), 0.0) == caption
    noisy = [add_noise(caption, np.random.default_rng(i), 1.0) for i in range(20)]
    assert noisy == [add_noise(caption, np.random.default_rng(i), 1.0) for i in range(20)]
    assert sum(n != caption for n in noisy) >= 15  # a synonym draw may leave a caption unchanged
    assert all(n.strip() for n in noisy)
