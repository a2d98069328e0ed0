"""Checking, before anything is built, that the class-list files a config names exist."""
import os
import os.path as osp
from typing import Iterator, Sequence, Tuple

from mmengine.config import Config

from .vocabulary import VOCABULARY_DIR, list_vocabularies

# config keys whose string value is a vocabulary: a shipped name or a class-list file
VOCABULARY_KEYS = ('vocabulary', 'train_vocabulary', 'test_vocabulary', 'seen_classes',
                   'classes', 'thing_classes', 'stuff_classes', 'stuff')


def _vocabulary_values(node, key: str = '') -> Iterator[Tuple[str, str]]:
    """Yield ``(config key, value)`` for every string under a vocabulary key; the key is
    written as ``--cfg-options`` takes it (``val_evaluator.1.seen_classes``)."""
    if isinstance(node, dict):
        for name, value in node.items():
            child = f'{key}.{name}' if key else str(name)
            if name in VOCABULARY_KEYS and isinstance(value, str):
                yield child, value
            else:
                yield from _vocabulary_values(value, child)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _vocabulary_values(value, f'{key}.{i}')


def check_vocabulary_files(cfg: Config, skip: Sequence[str] = ()) -> None:
    """Raise if a config names a class-list file that does not exist.

    Every string value of a key in :data:`VOCABULARY_KEYS` (``train_dataloader.dataset.
    vocabulary``, ``model.train_vocabulary``, ``val_evaluator.seen_classes``, a dataset's
    ``metainfo.classes``...) must be a file or a vocabulary shipped with umg_mm. Run before the
    Runner builds anything, so the error names the config key instead of surfacing from deep in
    a dataset or a model.

    Args:
        cfg: the config, after ``--cfg-options``.
        skip: top-level keys not checked (``tools/test.py`` skips ``train_dataloader``).

    Raises:
        FileNotFoundError: naming the config file, the key, the missing path and the folder a
            relative path is read from.
    """
    for key, value in _vocabulary_values({k: v for k, v in cfg.items() if k not in skip}):
        if osp.isfile(value) or osp.isfile(osp.join(VOCABULARY_DIR, f'{value}.txt')):
            continue
        raise FileNotFoundError(
            f'config {cfg.filename}: {key}={value!r} names a class-list file that does not exist '
            f'(relative paths are read from {os.getcwd()}) and is not a shipped vocabulary '
            f'({", ".join(list_vocabularies())}); fix the path, e.g. '
            f'--cfg-options {key}=path/to/classes.txt')
