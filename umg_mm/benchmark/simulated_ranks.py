"""Several ranks of the contrastive losses' collectives, simulated in one process.

The losses gather through :mod:`umg_mm.models.losses.distributed`. Inside
:func:`run_ranks` each simulated rank runs in its own thread, one at a time, and those
collectives are answered in memory (a barrier per call), so ``world_size`` ranks need no process
group. Every rank's input
of every call is recorded: :func:`replay_rank` then runs one rank alone, its gathers answered
from the record, which is how the benchmark and the step estimator measure one rank's time and
memory at a world size the machine does not have.

Gathered copies of other ranks' rows carry no gradient back to them (what DDP would send home by
a backward collective); the local rows keep theirs, so each rank's loss and local gradient are
those of a real run.
"""
import threading
from contextlib import contextmanager
from typing import Any, Callable, List, Sequence
from unittest import mock

import torch

from umg_mm.models.losses import distributed
from umg_mm.models.losses import multi_positive_contrastive_loss as contrastive

Record = List[List[torch.Tensor]]  # per collective call, each rank's input


@contextmanager
def _collectives(rank_of: Callable[[], int], world_size: int,
                 answer: Callable[[torch.Tensor], List[torch.Tensor]]):
    """Route the losses' collectives to ``answer`` (local tensor -> every rank's tensor)."""

    def dist_info():
        return rank_of(), world_size

    def gather(tensor, group=None):
        return answer(tensor)

    with mock.patch.object(distributed, 'get_dist_info', dist_info), \
            mock.patch.object(contrastive, 'get_dist_info', dist_info), \
            mock.patch.object(distributed, 'loss_group', lambda: 'simulated'), \
            mock.patch.object(distributed, 'all_gather', gather), \
            mock.patch.object(torch.distributed.nn, 'all_gather', gather):
        yield


def run_ranks(fn: Callable[[int], Any], world_size: int) -> tuple:
    """Run ``fn(rank)`` for every rank, each in a thread, collectives answered in memory.

    Returns:
        ``(results, record)``: ``fn``'s result per rank, and each collective call's inputs of
        every rank (detached) for :func:`replay_rank`.
    """
    local = threading.local()
    barrier = threading.Barrier(world_size)
    record: Record = []
    # one rank computes at a time (modules are shared, and some swap their parameters during
    # a call, as functional_call does); a rank lets the others run while it waits in a gather
    compute = threading.Lock()

    def answer(tensor):
        call = local.calls
        local.calls += 1
        while len(record) <= call:
            record.append([None] * world_size)
        record[call][local.rank] = tensor.detach()
        compute.release()
        try:
            barrier.wait()
        finally:
            compute.acquire()
        return [tensor if r == local.rank else record[call][r] for r in range(world_size)]

    results, errors = [None] * world_size, []

    def target(rank):
        local.rank, local.calls = rank, 0
        with compute:
            try:
                results[rank] = fn(rank)
            except BaseException as error:  # noqa: B036 (re-raised below, in the caller)
                errors.append((rank, error))
                barrier.abort()

    with _collectives(lambda: local.rank, world_size, answer):
        threads = [threading.Thread(target=target, args=(r,)) for r in range(world_size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    real = [e for e in errors if not isinstance(e[1], threading.BrokenBarrierError)]
    if errors:
        rank, error = (real or errors)[0]
        raise RuntimeError(f'simulated rank {rank} failed: {error!r}') from error
    return results, record


def replay_rank(fn: Callable[[], Any], record: Sequence[Sequence[torch.Tensor]],
                rank: int = 0) -> Any:
    """Run ``fn()`` as ``rank`` alone; its ``k``-th collective gets the other ranks' inputs of
    the ``k``-th call of ``record`` (from :func:`run_ranks` with the same ``fn``).

    Raises:
        ValueError: if ``fn`` calls more collectives than recorded, or with another shape.
    """
    if not record:
        raise ValueError('empty record: run_ranks with this fn recorded no collective call')
    calls = [0]

    def answer(tensor):
        call = calls[0]
        calls[0] += 1
        if call >= len(record):
            raise ValueError(f'collective call {call} was not recorded ({len(record)} were)')
        expected = record[call][rank]
        if expected.shape != tensor.shape:
            raise ValueError(f'collective call {call}: shape {tuple(tensor.shape)}, recorded '
                             f'{tuple(expected.shape)}; replay the inputs that were recorded')
        return [tensor if r == rank else t for r, t in enumerate(record[call])]

    with _collectives(lambda: rank, len(record[0]), answer):
        return fn()
