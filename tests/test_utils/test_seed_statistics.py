"""umg_mm.utils.seed_statistics on hand-made numbers: mean, sample std, missing values, cells."""
import math

import pytest

from umg_mm.utils.seed_statistics import SeedStats, format_stats, mean_of, seed_stats, stats_by_key


def test_mean_and_sample_std():
    stats = seed_stats([40.0, 42.0, 47.0])
    assert stats.n == 3 and stats.mean == pytest.approx(43.0)
    # deviations -3, -1, 4: sum of squares 26, divided by n - 1 = 2
    assert stats.std == pytest.approx(math.sqrt(13.0))
    assert seed_stats([5, 5]) == SeedStats(5.0, 0.0, 2)


def test_missing_values_are_left_out_and_counted():
    assert seed_stats([10.0, None, float('nan'), 14.0]) == \
        SeedStats(12.0, pytest.approx(math.sqrt(8.0)), 2)
    one = seed_stats([None, 7.5])
    assert one.mean == 7.5 and one.n == 1 and math.isnan(one.std)  # std of one value: undefined
    none = seed_stats([None, float('nan')])
    assert none.n == 0 and math.isnan(none.mean) and math.isnan(none.std)
    assert mean_of([1.0, None, 2.0, float('nan')]) == 1.5 and mean_of([None]) is None


def test_cells():
    assert format_stats(seed_stats([40.0, 42.0, 47.0])) == '43.0 +- 3.6'
    assert format_stats(seed_stats([40.0, 42.0]), runs=2, digits=2) == '41.00 +- 1.41'
    assert format_stats(seed_stats([40.0, None, 44.0]), runs=3) == '42.0 +- 2.8 (n=2)'
    assert format_stats(seed_stats([12.34])) == '12.3 +- -'  # one seed: the std is '-'
    assert format_stats(seed_stats([None, None]), runs=2) == '-'


def test_stats_by_key_and_json():
    runs = [{'a': 1.0, 'b': 2.0}, {'a': 3.0}, {'c': None, 'a': 5.0}]
    stats = stats_by_key(runs)
    assert list(stats) == ['a', 'b', 'c']
    assert stats['a'] == SeedStats(3.0, 2.0, 3)
    assert stats['b'].as_dict() == {'mean': 2.0, 'std': None, 'n': 1}
    assert stats['c'].as_dict() == {'mean': None, 'std': None, 'n': 0}
