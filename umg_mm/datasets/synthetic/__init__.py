"""The synthetic world: shapes on textures, annotated in every format umg_mm reads.

See ``docs/synthetic_world.md`` and ``tools/make_synthetic_data.py``.
"""
from .categories import ALL_CLASSES, STUFF_CLASSES, THING_CLASSES
from .generator import SyntheticWorldConfig, generate_synthetic_world
from .worlds import SEED_WORLDS, SeedWorld, seed_world

__all__ = ['ALL_CLASSES', 'SEED_WORLDS', 'STUFF_CLASSES', 'THING_CLASSES', 'SeedWorld',
           'SyntheticWorldConfig', 'generate_synthetic_world', 'seed_world']
