"""Interleaved medians, ratios and peak memory of umg_mm.benchmark."""
import math
import mmap

import pytest

from umg_mm.benchmark.result import Ratio
from umg_mm.benchmark.timing import (interleaved_medians, peak_rss_bytes, reset_peak_rss,
                                     rss_bytes)


class FakeClock:
    """Calls the function and returns the next of its scripted durations."""

    def __init__(self, durations):
        self.durations = {name: iter(values) for name, values in durations.items()}
        self.calls = []

    def __call__(self, fn):
        name = fn()
        self.calls.append(name)
        return next(self.durations[name])


def test_medians_exclude_the_warmup_and_alternate_the_functions():
    clock = FakeClock({'a': [9.0, 1.0, 3.0, 2.0], 'b': [7.0, 5.0, 4.0, 6.0]})
    medians, first = interleaved_medians(clock, [lambda: 'a', lambda: 'b'], repeats=3, warmup=1)
    assert medians == [2.0, 5.0]
    assert first == [9.0, 7.0]
    assert clock.calls == ['a', 'b'] * 4


def test_progress_bar_counts_every_call(capsys):
    clock = FakeClock({'a': [1.0] * 3, 'b': [1.0] * 3})
    interleaved_medians(clock, [lambda: 'a', lambda: 'b'], repeats=2, warmup=1)
    out = capsys.readouterr().out
    assert '6/6' in out and 'ETA' in out
    interleaved_medians(FakeClock({'a': [1.0]}), [lambda: 'a'], repeats=1, warmup=0,
                        progress=False)
    assert capsys.readouterr().out == ''


def test_medians_need_a_repeat():
    with pytest.raises(ValueError, match='repeats=0'):
        interleaved_medians(FakeClock({}), [lambda: 'a'], repeats=0)


def test_ratio_is_measured_over_reference_and_null_in_json_when_undefined():
    assert Ratio('x', 3.0, 2.0, 's').value == 1.5
    broken = Ratio('x', 3.0, 0.0, 's')
    assert math.isnan(broken.value)
    assert broken.to_dict() == dict(what='x', measured=3.0, reference=0.0, unit='s', value=None)


def test_peak_rss_reset_then_grows_with_an_allocation():
    if not reset_peak_rss():
        pytest.skip('no /proc/self/clear_refs here')
    before = rss_bytes()
    assert peak_rss_bytes() - before < 8 * 2**20
    # fresh anonymous pages (a bytearray may reuse heap pages that are already resident)
    block = mmap.mmap(-1, 64 * 2**20)
    block[::4096] = b'\x01' * (len(block) // 4096)  # touch every page
    assert peak_rss_bytes() - before >= 60 * 2**20
    block.close()
