"""``UMGWebDataset``: UMG-schema samples streamed from WebDataset tar shards."""
import logging
import random
from typing import Callable, Iterator, List, Optional, Sequence, Union

import torch
from mmengine.dataset import Compose
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from torch.utils.data import IterableDataset, get_worker_info

from umg_mm.registry import DATASETS
from .invalid_records import InvalidRecordPolicy
from .schema import SCHEMA_VERSION
from .umg_dataset import umg_data_info
from .umg_sources import (ShardError, check_source_record, expand_shards, iter_shard_samples,
                          shard_sample_to_record)


@DATASETS.register_module()
class UMGWebDataset(IterableDataset):
    """UMG records streamed from WebDataset tar shards (``<key>.json`` + ``<key>.jpg``/``.png``).

    The shard list is split first by rank (``shards[rank::world_size]``), then by dataloader
    worker (``[worker_id::num_workers]``), so that in one epoch every sample is read by exactly
    one worker of one rank. Each worker shuffles its own shards (and, with ``shuffle_buffer``,
    its samples) with a seed derived from ``seed``, the rank, the worker and the epoch, so
    shuffling never breaks that split. ``webdataset`` reads the tar streams (local paths, or any
    url it accepts such as ``pipe:...``).

    Use it with no sampler, as the Runner requires the key::

        train_dataloader = dict(
            batch_size=32, num_workers=4, persistent_workers=True,
            sampler=None,  # an IterableDataset splits the data itself
            dataset=dict(type='UMGWebDataset', shards='data/umg-{0000..0999}.tar',
                         num_samples=1_000_000, pipeline=train_pipeline))

    ``len(dataset)`` is ``num_samples // world_size``: set ``num_samples`` to the number of
    samples in all shards. A Runner needs it with either loop (``EpochBasedTrainLoop`` counts an
    epoch with it; mmengine's ``LoggerHook`` asks ``len(dataloader)`` at every iteration, where for
    ``IterBasedTrainLoop`` an estimate is enough). With shards of unequal sizes ranks may
    get unequal numbers of samples; keep shard sizes equal, use a number of shards divisible by
    ``world_size * num_workers``, or train with ``IterBasedTrainLoop``.

    Each sample's record is checked against the schema as it streams, and its image header
    against ``image.height/width`` (the pixels are decoded later, by ``LoadUMGImage``): an invalid
    sample raises a ``ValueError`` naming the shard and key, or with ``skip_invalid=True`` is
    skipped, counted in ``num_skipped`` and logged once per process (a dataloader worker that is
    re-created each epoch logs again). A sample whose pipeline returns ``None`` (e.g. a
    ``RandomCrop`` without boxes) is dropped and counted in ``num_dropped``. A shard that cannot
    be read to its end (truncated, corrupt) raises a ``ValueError`` naming the shard and the
    member, or with ``skip_invalid=True`` is skipped from there on, logged with the samples read
    and lost, and counted in ``num_skipped_shards``. Run
    ``tools/validate_umg.py 'data/umg-{0000..0999}.tar'`` before training to find bad records
    without waiting for them.

    Args:
        shards (str | list[str]): brace pattern, glob, path or list of these
            (see :func:`umg_mm.datasets.umg_sources.expand_shards`).
        pipeline (list[dict | callable]): the data pipeline.
        num_samples (int, optional): number of samples in all shards; gives ``len()``, which a
            Runner needs (without it ``len()`` raises).
        shuffle_shards (bool): shuffle each worker's shards every epoch. Defaults to True.
        shuffle_buffer (int): size of the sample shuffle buffer (0: no sample shuffling).
        seed (int, optional): seed of the shuffling; None takes a fresh seed each epoch.
        skip_invalid (bool): skip invalid records instead of raising. Defaults to False.
        rank (int, optional), world_size (int, optional): override
            ``mmengine.dist.get_dist_info()``, which is read when the dataset is built (the Runner
            builds it after initialising the process group).
        metainfo (dict, optional): extra meta information.
    """

    METAINFO = dict(schema=SCHEMA_VERSION)

    def __init__(self,
                 shards: Union[str, Sequence[str]],
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 num_samples: Optional[int] = None,
                 shuffle_shards: bool = True,
                 shuffle_buffer: int = 0,
                 seed: Optional[int] = None,
                 skip_invalid: bool = False,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None,
                 metainfo: Optional[dict] = None) -> None:
        self.urls = expand_shards(shards)
        if not self.urls:
            raise ValueError(f'UMGWebDataset: shards={shards!r} names no shard')
        self.pipeline = Compose(list(pipeline))
        self.num_samples = num_samples
        self.shuffle_shards = shuffle_shards
        self.shuffle_buffer = shuffle_buffer
        self.seed = seed
        # Read here, in the main process: a dataloader worker process does not see the
        # process group (mmengine.dist.get_dist_info() there says rank 0 of 1).
        dist_rank, dist_world_size = get_dist_info()
        self.rank = dist_rank if rank is None else rank
        self.world_size = dist_world_size if world_size is None else world_size
        self.metainfo = dict(self.METAINFO, **(metainfo or {}))
        self.invalid_policy = InvalidRecordPolicy(skip_invalid, type(self).__name__)
        self.num_dropped = 0
        self.num_skipped_shards = 0
        self._epoch = 0

    @property
    def num_skipped(self) -> int:
        """How many invalid records this process skipped."""
        return self.invalid_policy.num_skipped

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that seeds the shuffling (the next ``iter()`` uses it)."""
        self._epoch = epoch

    def shards_of_this_worker(self) -> List[str]:
        """The shards this rank's current dataloader worker reads this epoch, in order.

        Raises:
            ValueError: fewer shards than ranks (a rank would get no data and hang the others).
        """
        rank, world_size = self.rank, self.world_size
        rank_urls = self.urls[rank::world_size]
        if not rank_urls:
            raise ValueError(
                f'UMGWebDataset: {len(self.urls)} shard(s) cannot be split over {world_size} '
                f'ranks: rank {rank} gets none. Write at least world_size shards '
                f'(better a multiple of world_size * num_workers).')
        worker = get_worker_info()
        worker_id, num_workers = (worker.id, worker.num_workers) if worker else (0, 1)
        urls = rank_urls[worker_id::num_workers]
        if self.shuffle_shards:
            self._rng(rank, worker_id).shuffle(urls)
        return urls

    def _rng(self, rank: int, worker_id: int) -> random.Random:
        # torch.initial_seed() differs per worker and per epoch when workers are re-created and
        # is derived from the Runner's seed, so the order is reproducible and changes each epoch.
        if self.seed is None:
            return random.Random()
        return random.Random(
            f'{self.seed}-{rank}-{worker_id}-{self._epoch}-{torch.initial_seed()}')

    def _samples(self, urls: List[str]) -> Iterator[dict]:
        """The samples of ``urls`` in order; a shard that cannot be read to its end raises (its
        name and member in the message) or, with ``skip_invalid``, is logged and skipped."""
        for url in urls:
            try:
                yield from iter_shard_samples(url)
            except ShardError as err:
                if not self.invalid_policy.skip_invalid:
                    raise ValueError(f'{type(self).__name__}: {err}. Re-write the shard, or set '
                                     f'skip_invalid=True to skip what cannot be read.') from err
                self.num_skipped_shards += 1
                print_log(f'{type(self).__name__}: skipping the rest of an unreadable shard '
                          f'(skip_invalid=True): {err}', logger='current',
                          level=logging.WARNING)

    def __iter__(self):
        import webdataset as wds

        rank = self.rank
        worker = get_worker_info()
        worker_id = worker.id if worker else 0
        samples = self._samples(self.shards_of_this_worker())
        if self.shuffle_buffer > 0:
            samples = wds.shuffle(self.shuffle_buffer,
                                  rng=self._rng(rank, worker_id))(samples)
        self._epoch += 1
        for sample in samples:
            src = shard_sample_to_record(sample)
            if not self.invalid_policy.accept(check_source_record(src, check_image=True)):
                continue
            data = self.pipeline(umg_data_info(src))
            if data is None:
                self.num_dropped += 1
                continue
            yield data

    def __len__(self) -> int:
        if self.num_samples is None:
            raise TypeError(
                'UMGWebDataset has no length: set num_samples (the number of samples in all '
                'shards). A Runner needs it to train with either loop: EpochBasedTrainLoop counts '
                'an epoch with it, and mmengine\'s LoggerHook asks len(dataloader) at every '
                'iteration; with IterBasedTrainLoop an estimate is enough (it only marks where '
                'an "epoch" ends in the logs)')
        return self.num_samples // self.world_size
