"""Compatibility of mmengine 0.10.x with today's torch, fixed here once.

1. **Resuming with torch >= 2.6.** ``torch.load`` defaults to ``weights_only=True`` and refuses
   the Python objects that mmengine stores in its own checkpoints (the message hub's
   ``HistoryBuffer``, numpy arrays and scalars in the log history). :func:`apply` allow-lists
   exactly those classes with ``torch.serialization.add_safe_globals`` (and, for the
   ``getattr(HistoryBuffer, 'min')`` that pickle writes, a ``getattr`` restricted to those
   methods); every other global is still refused, so loading an untrusted checkpoint stays safe.
   ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` (which turns the check off for every load) is not needed.
2. **Distributed training on a CPU-only host.** mmengine's ``init_dist('pytorch')`` calls
   ``torch.cuda.set_device`` whatever the backend, and the Runner wraps the model in DDP with
   ``device_ids=[LOCAL_RANK]``, which DDP refuses for CPU modules. :func:`setup_cpu_distributed`
   starts the ``gloo`` process group itself (the Runner then skips ``init_dist``) and makes the
   Runner build DDP with ``device_ids=None``. On a host with CUDA it does nothing: nccl and one
   GPU per rank, as mmengine does it.
3. **Shutting down.** :func:`shutdown_distributed` destroys the process groups once a run is over
   (a gloo group left to the interpreter's exit can abort the process after the work is done).

``import umg_mm`` calls :func:`apply`; ``tools/train.py`` and ``tools/test.py`` call
:func:`setup_cpu_distributed` and :func:`shutdown_distributed`.
"""
import gc
import importlib
import os
import pickle

import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def _mmengine_checkpoint_globals() -> list:
    """The non-tensor classes that mmengine 0.10.x pickles into its checkpoints."""
    from mmengine.logging.history_buffer import HistoryBuffer
    numpy_2 = int(np.__version__.split('.')[0]) >= 2
    multiarray = importlib.import_module(
        'numpy._core.multiarray' if numpy_2 else 'numpy.core.multiarray')
    safe = [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    # numpy >= 1.25 pickles dtypes as instances of their own classes (``numpy.dtypes.Float64DType``)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [cls for name, cls in vars(dtypes).items()
                 if name.endswith('DType') and isinstance(cls, type)]
    return safe


def _history_buffer_getattr(obj, name: str):
    """``getattr`` as pickle uses it for ``HistoryBuffer``'s statistics methods, and only that.

    A ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer, 'min')``.
    Allow-listing ``builtins.getattr`` itself would let a crafted checkpoint reach any attribute
    of any allowed object (and from there, code execution), so this stand-in is registered under
    that name instead and refuses everything else.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading with weights_only=True: umg_mm only '
        f'allows the HistoryBuffer statistics methods that mmengine checkpoints contain')


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read what mmengine saves, and nothing more."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:  # torch < 2.4 loads these without an allow-list
        add_safe_globals(_mmengine_checkpoint_globals() +
                         [(_history_buffer_getattr, 'builtins.getattr')])


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Prepare a multi-process run on a host without CUDA (the gloo backend).

    Call it before ``Runner.from_cfg(cfg)``. Does nothing for ``launcher='none'`` or when CUDA is
    available.

    Args:
        cfg: the run's config; its ``model_wrapper_cfg`` gets ``device_ids=None``.
        launcher: the ``--launcher`` given to the tool (``none``, ``pytorch``, ``slurm``, ``mpi``).
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise ValueError(f'CPU-only distributed runs support launcher="pytorch" (torchrun, as '
                         f'tools/dist_train.sh uses), got launcher="{launcher}"')
    if not torch_dist.is_initialized():
        # torchrun provides MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE for env://
        torch_dist.init_process_group(backend='gloo', init_method='env://')
    env_cfg = cfg.get('env_cfg') or {}
    cfg.env_cfg = dict(env_cfg, dist_cfg=dict(env_cfg.get('dist_cfg') or {}, backend='gloo'))
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    os.environ.setdefault('LOCAL_RANK', '0')


def shutdown_distributed() -> None:
    """Destroy the process groups (the default one and any made with ``new_group``) at the end.

    mmengine leaves them to the interpreter's exit, where a gloo group whose threads are still
    running aborts the process ("terminate called without an active exception") after the work
    is done, and torchrun reports the run as failed. The runner, its loops and hooks refer to each
    other, so the DDP wrapper (whose reducer holds the group) outlives the last reference to the
    runner until a garbage collection: the caller drops its runner, this collects it, and only
    then are the groups destroyed.
    """
    gc.collect()
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
        gc.collect()


def apply() -> None:
    """Apply the process-wide fixes (run by ``import umg_mm``)."""
    allow_mmengine_checkpoints()
