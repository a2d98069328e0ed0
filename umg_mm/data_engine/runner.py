"""The engine: images in shards through a chain of stages, records written shard by shard.

A shard is ``shard_size`` consecutive images of the (stably ordered) input. When all its stages
have run, its records are written atomically and then a marker ``progress/shard-<i>.json``
(its keys and per-stage counts). A re-run skips every shard with a marker, so a crash (even
``kill -9``) loses only the shard in progress, and no record is written twice.
"""
import json
import logging
import os
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from umg_mm.utils.atomic_io import write_json_atomic
from .registry import STAGES
from .sample import EngineSample, counts_delta, finish_record, record_counts
from .sources import ImageItem
from .stages.base import BaseStage
from .writers import build_writer

COUNT_KINDS = ('regions', 'segments', 'texts')
RUN_FILE = 'engine.json'


def default_device() -> str:
    """``'cuda'`` when a GPU is present, else ``'cpu'``."""
    import torch
    return 'cuda' if torch.cuda.is_available() else 'cpu'


class DataEngine:
    """Pseudo-annotates images with a chain of stages.

    Args:
        stages: stage configs (``dict(type='UMGZeroShotTag', ...)``, built from
            :data:`~umg_mm.data_engine.registry.STAGES`) or built stages, run in order.
        shard_size: images per shard (the unit of writing and resuming).
        output_format: ``'folder'``, ``'jsonl'`` or ``'shards'`` (see :mod:`.writers`).
        device: where the models run (default: :func:`default_device`).
        progress: show a progress bar per stage (rich, on stderr).
    """

    def __init__(self, stages: Sequence[Union[dict, BaseStage]], shard_size: int = 64,
                 output_format: str = 'folder', device: Optional[str] = None,
                 progress: bool = True):
        if not stages:
            raise ValueError('the engine needs at least one stage (stages=[...] in its config)')
        if shard_size < 1:
            raise ValueError(f'shard_size={shard_size}; give 1 or more images per shard')
        with DefaultScope.overwrite_default_scope(STAGES.scope):
            self.stages = [s if isinstance(s, BaseStage) else STAGES.build(s) for s in stages]
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f'stage names {names} repeat; give the repeated ones name=...')
        self.shard_size, self.output_format = shard_size, output_format
        self.device = device or default_device()
        self.progress = progress
        self._ready = False

    def describe(self) -> List[dict]:
        """Each stage's name, type, role and model (written to ``engine.json``)."""
        return [dict(name=s.name, type=type(s).__name__, role=s.role, model=s.model_name)
                for s in self.stages]

    def shards(self, items: Sequence[ImageItem]) -> List[Tuple[int, List[ImageItem]]]:
        """``(index, items)`` of every shard of the input."""
        return [(i // self.shard_size, list(items[i:i + self.shard_size]))
                for i in range(0, len(items), self.shard_size)]

    # ------------------------------------------------------------------ running
    def run(self, items: Sequence[ImageItem], out_dir: str, source: str = '',
            worker: Tuple[int, int] = (0, 1)) -> dict:
        """Annotate ``items`` into ``out_dir``; shards already done there are skipped.

        Args:
            items: the input images, in a stable order.
            out_dir: the output folder.
            source: the input as given (recorded in ``engine.json``).
            worker: ``(index, count)``: this process does the shards ``index::count`` (several
                processes or GPUs share one output folder).

        Returns:
            The summary (:func:`summarize`) of every finished shard in ``out_dir``.
        """
        index, count = worker
        if not 0 <= index < count:
            raise ValueError(f'worker {index} of {count}: give 0 <= index < count')
        writer = build_writer(self.output_format, out_dir)
        self._check_run_file(out_dir, source, len(items))
        shards = self.shards(items)
        todo = [(i, shard) for i, shard in shards[index::count]
                if not osp.isfile(marker_path(out_dir, i))]
        print_log(f'data engine: {len(shards)} shard(s) of up to {self.shard_size} images, '
                  f'{len(shards) - len(todo)} done already; this worker does {len(todo)} on '
                  f'{self.device}', logger='current')
        if todo:
            self._setup()
            with self._progress(sum(len(s) for _, s in todo)) as advance:
                for i, shard in todo:
                    self._run_shard(i, shard, writer, out_dir, advance)
        done = [read_marker(out_dir, i) for i, _ in shards if osp.isfile(marker_path(out_dir, i))]
        if len(done) == len(shards):
            finished = writer.finish([m['files'] for m in done])
            write_json_atomic(osp.join(out_dir, 'summary.json'),
                              dict(summarize(done), files=finished), indent=1)
        return summarize(done)

    def _setup(self) -> None:
        if not self._ready:
            for stage in self.stages:
                stage.setup(self.device)
            self._ready = True

    def _check_run_file(self, out_dir: str, source: str, num_images: int) -> None:
        """Write ``engine.json`` (input, shard size, format, stages), or check that the one
        there describes this run (resuming with other settings would mix records)."""
        run = dict(source=source, num_images=num_images, shard_size=self.shard_size,
                   output_format=self.output_format, stages=self.describe())
        path = osp.join(out_dir, RUN_FILE)
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                old = json.load(f)
            changed = sorted(k for k in run if old.get(k) != run[k])
            if changed:
                raise ValueError(f'{out_dir} holds a run with other {", ".join(changed)} '
                                 f'({path}); resume it with the same input and config, or '
                                 f'write to a new folder')
        else:
            os.makedirs(out_dir, exist_ok=True)
            write_json_atomic(path, run, indent=1)

    def _run_shard(self, index: int, items: List[ImageItem], writer, out_dir: str,
                   advance) -> None:
        samples, unreadable = [], []
        for item in items:
            try:
                samples.append(EngineSample(item, item.load()))
            except ValueError as error:
                print_log(f'data engine: skipped {error}', logger='current',
                          level=logging.WARNING)
                unreadable.append(item.key)
        counts = {}
        for stage in self.stages:
            delta: Dict[str, int] = {}
            for start in range(0, len(samples), stage.batch_size):
                batch = samples[start:start + stage.batch_size]
                before = [record_counts(s.record) for s in batch]
                stage.process(batch)
                for kind, value in counts_delta(before, [record_counts(s.record)
                                                         for s in batch]).items():
                    delta[kind] = delta.get(kind, 0) + value
                advance(stage.name, len(batch))
            counts[stage.name] = dict(delta, images=len(samples))
            advance(stage.name, len(unreadable))
        records = [finish_record(s.record) for s in samples]
        kept = {k: sum(record_counts(r)[k] for r in records) for k in COUNT_KINDS}
        files = writer.write(index, [s.item for s in samples], records)
        write_json_atomic(marker_path(out_dir, index), dict(
            shard=index, keys=[s.item.key for s in samples], unreadable=unreadable,
            files=files, stages=counts, kept=dict(kept, images=len(records))), indent=1)

    def _progress(self, total: int):
        """A context giving ``advance(stage, n)``: one rich progress bar per stage."""
        @contextmanager
        def bars():
            if not self.progress:
                yield lambda stage, n: None
                return
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeRemainingColumn)
            with Progress(TextColumn('{task.description:<12}'), BarColumn(),
                          MofNCompleteColumn(), TimeRemainingColumn(),
                          console=Console(file=sys.stderr)) as progress:
                tasks = {s.name: progress.add_task(s.name, total=total) for s in self.stages}
                yield lambda stage, n: progress.advance(tasks[stage], n)
        return bars()


def marker_path(out_dir: str, index: int) -> str:
    """The marker of finished shard ``index``."""
    return osp.join(out_dir, 'progress', f'shard-{index:06d}.json')


def read_marker(out_dir: str, index: int) -> dict:
    """The marker of finished shard ``index`` (see :meth:`DataEngine._run_shard`)."""
    with open(marker_path(out_dir, index), encoding='utf-8') as f:
        return json.load(f)


def summarize(markers: Sequence[dict]) -> dict:
    """Totals over finished shards: per stage the images it saw and the regions, segments and
    texts it added and dropped; ``kept``: what the written records hold."""
    stages: Dict[str, Dict[str, int]] = {}
    kept: Dict[str, int] = {}
    for marker in markers:
        for name, counts in marker['stages'].items():
            total = stages.setdefault(name, {})
            for kind, value in counts.items():
                total[kind] = total.get(kind, 0) + value
        for kind, value in marker['kept'].items():
            kept[kind] = kept.get(kind, 0) + value
    return dict(shards=len(markers), unreadable=sum(len(m['unreadable']) for m in markers),
                stages=stages, kept=kept)


def summary_table(summary: dict) -> str:
    """The summary as a Markdown table: per stage ``+added / -dropped`` of each kind."""
    lines = ['| stage | images | regions | segments | texts |', '| --- | --- | --- | --- | --- |']
    for name, counts in summary['stages'].items():
        cells = [f'+{counts.get(k + "_added", 0)} / -{counts.get(k + "_dropped", 0)}'
                 for k in COUNT_KINDS]
        lines.append(f'| {name} | {counts.get("images", 0)} | ' + ' | '.join(cells) + ' |')
    kept = summary['kept']
    lines.append(f'| kept (written) | {kept.get("images", 0)} | ' +
                 ' | '.join(str(kept.get(k, 0)) for k in COUNT_KINDS) + ' |')
    return '\n'.join(lines)
