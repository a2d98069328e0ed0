"""Clocks, interleaved medians and peak memory for the benchmark.

On the CPU the clock is the CPU time of this process (``time.process_time``, all its threads):
unlike wall time it does not grow when other jobs on a shared machine take the cores away, so the
ratios hold under load. On CUDA it is wall time between two ``torch.cuda.synchronize()``.
"""
import multiprocessing
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from mmengine.utils import ProgressBar


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
                        warmup: int = 1, progress: bool = True) -> Tuple[List[float], List[float]]:
    """Median seconds of each function, called in turn so that load drifts hit all alike.

    Args:
        clock: how to time one call.
        fns: the functions to compare (a measured one and its reference).
        repeats: timed calls of each function.
        warmup: untimed calls of each function first (allocations, caches, autotuning).
        progress: show a progress bar (mmengine's, on stdout, updated between the timed calls)
            over the ``(warmup + repeats) * len(fns)`` calls, with its ETA.

    Returns:
        ``(medians, first_warmup_seconds)``: the median of each function over ``repeats`` calls,
        and the seconds of its first warm-up call (0 without warm-up).
    """
    if repeats < 1:
        raise ValueError(f'repeats={repeats}; it must be at least 1')
    bar = ProgressBar((warmup + repeats) * len(fns), file=sys.stdout) if progress else None
    first = [0.0] * len(fns)
    for step in range(warmup):
        for i, fn in enumerate(fns):
            seconds = clock(fn)
            if step == 0:
                first[i] = seconds
            if bar is not None:
                bar.update()
    runs = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, runs):
            times.append(clock(fn))
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.file.write('\n')
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


def _mem_tracker_class():
    """torch's ``MemTracker``, installing its gradient hooks only on parameters that require a
    gradient (``register_hook`` refuses the others: frozen towers, LoRA bases)."""
    from torch.distributed._tools.mem_tracker import MemTracker, _MemRefType

    class FrozenSafeMemTracker(MemTracker):

        def _track_module_params_and_buffers(self, module, install_grad_hooks=True):
            memory = super()._track_module_params_and_buffers(module, install_grad_hooks=False)
            if install_grad_hooks:
                for param in module.parameters():
                    if param.requires_grad and param.is_leaf and \
                            param not in self._param_to_grad_hook_handles:
                        self._param_to_grad_hook_handles[param] = (
                            param.register_hook(self._track_grad),
                            param.register_post_accumulate_grad_hook(
                                lambda p: self._track_grad(p.grad)))
            return memory

        def _track_grad(self, grad):
            self._update_and_maybe_create_winfos(grad, _MemRefType.GRAD)

    return FrozenSafeMemTracker


def _MemTracker():
    return _mem_tracker_class()()


def tracked_peak_bytes(fn: Callable[[], object], *track) -> Dict[str, int]:
    """Peak bytes of the tensors alive during ``fn()``, by torch's ``MemTracker`` (a dispatch
    mode that sees every tensor an operator allocates; it also runs under ``FakeTensorMode``).

    Args:
        fn: the measured function.
        *track: modules, optimizers or tensors made before ``fn`` that count too (parameters,
            gradients, optimizer states); anything else made before does not.

    Returns:
        At the peak of the busiest device: ``total`` and its parts ``weights`` (parameters and
        buffers), ``gradients``, ``optimizer`` and ``activations`` (activations and
        temporaries).
    """
    tracker = _MemTracker()
    if track:
        tracker.track_external(*track)
    with tracker:
        fn()
    peaks = tracker.get_tracker_snapshot('peak')
    if not peaks:
        return dict(total=0, weights=0, gradients=0, optimizer=0, activations=0)
    snap = max(peaks.values(), key=lambda s: s['Total'])
    part = {str(getattr(k, 'value', k)): v for k, v in snap.items()}
    return dict(total=part['Total'], weights=part['Parameter'] + part['Buffer'],
                gradients=part['Gradient'], optimizer=part['Optstate'],
                activations=part['Activation'] + part['Temp'] + part['Other'])


def run_in_fresh_process(target: Callable, *args):
    """``target(*args)`` in a new interpreter (``spawn``), whose memory high-water mark starts
    from nothing; returns what it returns (picklable) or raises its error here."""
    context = multiprocessing.get_context('spawn')
    with context.Pool(1) as pool:
        return pool.apply(target, args)
