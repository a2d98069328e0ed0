"""The worlds of the multi-world protocol: their folders, held-out classes and generator
arguments."""
import pytest

from umg_mm.datasets.synthetic import SEED_WORLDS, seed_world
from umg_mm.datasets.synthetic.categories import (DEFAULT_HELD_OUT_STUFF, DEFAULT_HELD_OUT_THINGS,
                                                  STUFF_CLASSES, THING_CLASSES)


@pytest.fixture
def load_make_synthetic_data():
    import importlib.util
    import os.path as osp
    path = osp.join(osp.dirname(__file__), '..', '..', '..', 'tools', 'make_synthetic_data.py')
    spec = importlib.util.spec_from_file_location('make_synthetic_data', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_three_worlds():
    assert sorted(SEED_WORLDS) == [0, 1, 2]
    assert [(w.data_root, w.held_out) for w in SEED_WORLDS.values()] == [
        ('data/synthetic', ('star', 'heart', 'brick')),
        ('data/synthetic_seed1', ('circle', 'ring', 'sand')),
        ('data/synthetic_seed2', ('triangle', 'crescent', 'water'))]
    # seed 0 is the default world of tools/make_synthetic_data.py
    assert SEED_WORLDS[0].held_out_things == DEFAULT_HELD_OUT_THINGS
    assert SEED_WORLDS[0].held_out_stuff == DEFAULT_HELD_OUT_STUFF


@pytest.mark.parametrize('seed', sorted(SEED_WORLDS))
def test_make_args_give_the_world(load_make_synthetic_data, seed):
    world = seed_world(seed)
    assert world.seed == seed
    assert set(world.held_out_things) <= set(THING_CLASSES)
    assert set(world.held_out_stuff) <= set(STUFF_CLASSES)
    args = load_make_synthetic_data.parse_args([world.data_root] + world.make_args())
    assert args.out_dir == world.data_root and args.seed == seed
    assert args.held_out_things.split(',') == list(world.held_out_things)
    assert args.held_out_stuff.split(',') == list(world.held_out_stuff)


def test_an_unknown_seed_is_named():
    with pytest.raises(ValueError, match=r'no synthetic world for seed 7; the worlds are seeds '
                                         r'\[0, 1, 2\]'):
        seed_world(7)

