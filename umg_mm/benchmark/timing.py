"""Clocks, interleaved medians and peak memory for the benchmark.

On the CPU the clock is the CPU time of this process (``time.process_time``, all its threads):
unlike wall time it does not grow when other jobs on a shared machine take the cores away, so the
ratios hold under load. On CUDA it is wall time between two ``torch.cuda.synchronize()``.
"""
import multiprocessing
import resource
import statistics
import time
from typing import Callable, List, Sequence, Tuple

import torch


class Clock:
    """Seconds spent in a function on ``device``.

    Args:
        device: the device the timed work runs on.
    """

    def __init__(self, device: torch.device):
        self.device = torch.device(device)
        self.cuda = self.device.type == 'cuda'
        self.name = 'wall time (CUDA synchronised)' if self.cuda else \
            'CPU time of the process (time.process_time)'

    def __call__(self, fn: Callable[[], object]) -> float:
        """Seconds ``fn()`` takes (CPU time on the CPU, synchronised wall time on CUDA)."""
        if self.cuda:
            torch.cuda.synchronize(self.device)
            start = time.perf_counter()
            fn()
            torch.cuda.synchronize(self.device)
            return time.perf_counter() - start
        start = time.process_time()
        fn()
        return time.process_time() - start


def interleaved_medians(clock: Clock, fns: Sequence[Callable[[], object]], repeats: int,
                        warmup: int = 1) -> Tuple[List[float], List[float]]:
    """Median seconds of each function, called in turn so that load drifts hit all alike.

    Args:
        clock: how to time one call.
        fns: the functions to compare (a measured one and its reference).
        repeats: timed calls of each function.
        warmup: untimed calls of each function first (allocations, caches, autotuning).

    Returns:
        ``(medians, first_warmup_seconds)``: the median of each function over ``repeats`` calls,
        and the seconds of its first warm-up call (0 without warm-up).
    """
    if repeats < 1:
        raise ValueError(f'repeats={repeats}; it must be at least 1')
    first = [0.0] * len(fns)
    for step in range(warmup):
        for i, fn in enumerate(fns):
            seconds = clock(fn)
            if step == 0:
                first[i] = seconds
    runs = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, runs):
            times.append(clock(fn))
    return [statistics.median(times) for times in runs], first


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise OSError(f'/proc/self/status has no {field}')


def reset_peak_rss() -> bool:
    """Reset this process's resident-memory high-water mark (``VmHWM``) to its current resident
    memory (Linux: write ``5`` to ``/proc/self/clear_refs``). Returns whether that worked."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def rss_bytes() -> int:
    """Resident memory of this process now, in bytes (``VmRSS``; ``ru_maxrss`` where there is
    no ``/proc``)."""
    try:
        return _status_kib('VmRSS') * 1024
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """High-water mark of this process's resident memory, in bytes (``VmHWM``, which
    :func:`reset_peak_rss` resets; else ``ru_maxrss``, which nothing resets)."""
    try:
        return _status_kib('VmHWM') * 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cuda_peak_bytes(fn: Callable[[], object], device: torch.device) -> int:
    """``torch.cuda.max_memory_allocated`` over ``fn()`` (weights and states included)."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device)


def run_in_fresh_process(target: Callable, *args):
    """``target(*args)`` in a new interpreter (``spawn``), whose memory high-water mark starts
    from nothing; returns what it returns (picklable) or raises its error here."""
    context = multiprocessing.get_context('spawn')
    with context.Pool(1) as pool:
        return pool.apply(target, args)
