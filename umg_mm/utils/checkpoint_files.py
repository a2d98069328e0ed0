"""Reading checkpoint files safely, and finding the one to resume from.

:func:`load_checkpoint_file` reads a checkpoint with ``torch.load(weights_only=True)`` (no pickled
code runs; ``import umg_mm`` allow-lists what mmengine stores) and refuses TorchScript archives,
whose loading runs the archive's code, unless the caller trusts the file explicitly.
:func:`find_resumable_checkpoint` is what ``tools/train.py --resume`` (without a path) resumes
from: the checkpoint that ``last_checkpoint`` names, or, when that pointer is missing, empty or
names a file that does not load, the newest checkpoint of the work dir that loads.
"""
import logging
import os
import os.path as osp
import re
import zipfile
from typing import Any, List, Optional

import torch
from mmengine.logging import print_log

_STEP = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a TorchScript archive (``torch.jit.save``), as torch tells them apart:
    a zip with a ``constants.pkl`` record."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.split('/', 1)[-1] == 'constants.pkl' for name in archive.namelist())


def load_torchscript(path: str, trust: bool = False) -> torch.jit.ScriptModule:
    """Load a TorchScript archive, only when ``trust`` says its code may run.

    Raises:
        ValueError: ``trust`` is False.
    """
    if not trust:
        raise ValueError(
            f'{path!r} is a TorchScript archive: loading it runs the code it carries, so it is '
            f'refused unless trusted explicitly. If you trust its origin (e.g. OpenAI\'s CLIP '
            f'files), convert it once with `python tools/convert_open_clip.py --trust-torchscript '
            f'...` and load the converted file.')
    return torch.jit.load(path, map_location='cpu')


def load_checkpoint_file(path: str, map_location: Any = 'cpu', mmap: bool = False) -> Any:
    """``torch.load`` a checkpoint with ``weights_only=True``, refusing TorchScript archives.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is a TorchScript archive (see :func:`load_torchscript`).
        pickle.UnpicklingError: the file holds globals other than tensors and allow-listed types.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file {path!r} does not exist')
    if is_torchscript_archive(path):
        load_torchscript(path, trust=False)
    return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)


def _loads(path: str) -> Optional[str]:
    """Why the checkpoint at ``path`` does not load, or None when it does."""
    try:
        load_checkpoint_file(path, mmap=True)
    except Exception as err:  # noqa: BLE001  (any failure makes the file unusable to resume)
        return f'{type(err).__name__}: {err}'
    return None


def _candidates(work_dir: str) -> List[str]:
    """The ``iter_N.pth``/``epoch_N.pth`` files of ``work_dir``, newest step first."""
    names = [n for n in (os.listdir(work_dir) if osp.isdir(work_dir) else []) if _STEP.match(n)]
    names.sort(key=lambda n: int(_STEP.match(n).group(1)), reverse=True)
    return [osp.join(work_dir, n) for n in names]


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume a run in ``work_dir`` from, or None when there is none.

    The file that ``work_dir/last_checkpoint`` names when it loads; otherwise (pointer missing,
    empty or naming a file that does not load) the newest ``iter_N.pth``/``epoch_N.pth`` of
    ``work_dir`` (and of the pointer's folder) that loads, saying so in the log.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = ''
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8', errors='replace') as f:
            named = f.read().strip()
    if named:
        problem = _loads(named)
        if problem is None:
            return named
        reason = f'{pointer} names {named!r}, which does not load ({problem})'
    else:
        reason = f'{pointer} is {"empty" if osp.isfile(pointer) else "missing"}'
    folders = [work_dir] + ([osp.dirname(named)] if osp.dirname(named) else [])
    tried = []
    for folder in dict.fromkeys(osp.normpath(f) for f in folders):
        for path in _candidates(folder):
            if osp.normpath(path) == osp.normpath(named):
                continue
            problem = _loads(path)
            if problem is None:
                print_log(f'resume: {reason}; resuming from {path}, the newest checkpoint that '
                          f'loads' + (f' (skipped: {"; ".join(tried)})' if tried else ''),
                          logger='current', level=logging.WARNING)
                return path
            tried.append(f'{path}: {problem}')
    print_log(f'resume: {reason} and no checkpoint of {work_dir} loads'
              + (f' ({"; ".join(tried)})' if tried else '') + '; starting from the beginning',
              logger='current', level=logging.WARNING)
    return None
