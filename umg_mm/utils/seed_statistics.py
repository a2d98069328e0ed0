"""Mean and spread of a figure over several runs (worlds, seeds), and its ``'mean +- std'`` cell.

A missing value (``None``, NaN: a metric with no sample in that run) is left out, and the count
``n`` says how many runs a figure rests on. The spread is the sample standard deviation (divisor
``n - 1``); with one value it is undefined (``nan``) and written ``-``.
"""
import math
from typing import Iterable, Mapping, NamedTuple, Optional, Sequence


class SeedStats(NamedTuple):
    """``mean`` and sample ``std`` of ``n`` values (``nan`` where undefined)."""
    mean: float
    std: float
    n: int

    def as_dict(self) -> dict:
        """The fields as JSON takes them (``nan`` as ``None``)."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v
                for k, v in self._asdict().items()}


def _present(values: Iterable[Optional[float]]) -> list:
    return [float(v) for v in values if v is not None and not math.isnan(v)]


def seed_stats(values: Iterable[Optional[float]]) -> SeedStats:
    """Mean and sample standard deviation of the values that are present.

    Args:
        values: one value per run; ``None`` and NaN are left out.

    Returns:
        ``SeedStats(mean, std, n)``: ``mean`` is ``nan`` for ``n == 0``, ``std`` for ``n < 2``.
    """
    present = _present(values)
    n = len(present)
    if n == 0:
        return SeedStats(math.nan, math.nan, 0)
    mean = sum(present) / n
    if n == 1:
        return SeedStats(mean, math.nan, 1)
    return SeedStats(mean, math.sqrt(sum((v - mean) ** 2 for v in present) / (n - 1)), n)


def mean_of(values: Iterable[Optional[float]]) -> Optional[float]:
    """The mean of the values that are present, ``None`` if there is none."""
    present = _present(values)
    return sum(present) / len(present) if present else None


def stats_by_key(runs: Sequence[Mapping[str, Optional[float]]]) -> dict:
    """``{key: SeedStats}`` over the runs for every key any run has (in order of first sight).

    Args:
        runs: one ``{key: value}`` per run; a key a run lacks counts as missing there.
    """
    keys = list(dict.fromkeys(k for run in runs for k in run))
    return {key: seed_stats(run.get(key) for run in runs) for key in keys}


def format_stats(stats: SeedStats, runs: int = None, digits: int = 1) -> str:
    """The cell ``'mean +- std'``.

    Args:
        stats: the figure's statistics.
        runs: how many runs there were; when ``stats.n`` is fewer, ``' (n=N)'`` is appended.
        digits: decimals of both numbers.

    Returns:
        e.g. ``'41.3 +- 2.1'``; ``'41.3 +- -'`` for one value; ``'-'`` for none.
    """
    if stats.n == 0:
        return '-'
    std = '-' if math.isnan(stats.std) else f'{stats.std:.{digits}f}'
    cell = f'{stats.mean:.{digits}f} +- {std}'
    return cell if runs is None or stats.n >= runs else f'{cell} (n={stats.n})'
