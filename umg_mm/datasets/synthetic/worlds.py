"""The worlds of the multi-world protocol: one synthetic world per seed, each holding out other
classes, so that the main job's and the ablation's figures are means over worlds.

``tools/main_job.py --seeds 0 1 2`` and ``tools/run_ablation.py --seeds 0 1 2`` read them here.
Add a world by adding an entry to :data:`SEED_WORLDS`.
"""
from dataclasses import dataclass
from typing import Dict, List, Tuple


@dataclass(frozen=True)
class SeedWorld:
    """A synthetic world made from a seed with its own held-out classes.

    Args:
        seed: seed of ``tools/make_synthetic_data.py`` (every random choice of the world).
        held_out_things: thing classes left out of the segmentation training labels.
        held_out_stuff: stuff classes left out of them.
    """
    seed: int
    held_out_things: Tuple[str, ...]
    held_out_stuff: Tuple[str, ...]

    @property
    def data_root(self) -> str:
        """Its folder, relative to the project's root: ``data/synthetic`` for seed 0 (the default
        world), ``data/synthetic_seed{seed}`` otherwise."""
        return 'data/synthetic' if self.seed == 0 else f'data/synthetic_seed{self.seed}'

    @property
    def held_out(self) -> Tuple[str, ...]:
        """Every held-out class, things first."""
        return self.held_out_things + self.held_out_stuff

    def make_args(self) -> List[str]:
        """The arguments of ``tools/make_synthetic_data.py`` after its output folder."""
        return ['--seed', str(self.seed), '--held-out-things', ','.join(self.held_out_things),
                '--held-out-stuff', ','.join(self.held_out_stuff)]


#: seed -> world; seed 0 is the default world of ``tools/make_synthetic_data.py``
SEED_WORLDS: Dict[int, SeedWorld] = {
    0: SeedWorld(0, ('star', 'heart'), ('brick', )),
    1: SeedWorld(1, ('circle', 'ring'), ('sand', )),
    2: SeedWorld(2, ('triangle', 'crescent'), ('water', )),
}


def seed_world(seed: int) -> SeedWorld:
    """The world of ``seed``.

    Raises:
        ValueError: ``seed`` has no world in :data:`SEED_WORLDS`.
    """
    if seed not in SEED_WORLDS:
        raise ValueError(f'no synthetic world for seed {seed}; the worlds are seeds '
                         f'{sorted(SEED_WORLDS)} (add one to SEED_WORLDS in '
                         f'umg_mm/datasets/synthetic/worlds.py)')
    return SEED_WORLDS[seed]
