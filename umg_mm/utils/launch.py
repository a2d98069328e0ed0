"""What ``tools/train.py`` and ``tools/test.py`` share: arguments, config loading, the runner.

The tools drive any config that uses umg_mm: mmdet-, mmseg- and mmpretrain-based ones (their
``default_scope`` decides the registries) and umg_mm's own pretraining configs.
"""
import argparse
import inspect
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.device import get_device
from mmengine.registry import HOOKS, RUNNERS
from mmengine.runner import Runner

from .compat import setup_cpu_distributed


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the arguments every OpenMMLab launch tool has."""
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='directory for logs, checkpoints and results')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, "key=value" pairs, e.g. '
        'train_cfg.max_iters=100 model.backbone.frozen=False')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Read ``args.config``, apply ``--cfg-options`` and ``--work-dir``, prepare distribution."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config} does not exist')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    setup_cpu_distributed(cfg, args.launcher)
    return cfg


def check_amp_device(cfg: Config) -> None:
    """Raise, saying how to train in fp32, if the config trains with AMP on a CPU-only host.

    mmengine's ``AmpOptimWrapper`` needs a GPU (or NPU, MLU, MUSA); its own assertion does not
    say how to turn mixed precision off.
    """
    if (cfg.get('optim_wrapper') or {}).get('type') != 'AmpOptimWrapper' or \
            get_device() != 'cpu':
        return
    fp32 = cfg.filename.replace('-amp', '') if cfg.filename and '-amp' in cfg.filename else None
    variant = f' or train the fp32 config {fp32}' if fp32 and osp.isfile(fp32) else ''
    raise RuntimeError(
        f'config {cfg.filename} trains with automatic mixed precision (optim_wrapper.type='
        f'AmpOptimWrapper), which needs a GPU; this host has none. Train in fp32 with '
        f'--cfg-options optim_wrapper.type=OptimWrapper{variant}.')


def build_runner(cfg: Config) -> Runner:
    """Build the default Runner, or the one ``cfg.runner_type`` names."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def enable_visualization(cfg: Config, show_dir: str = None, show: bool = False,
                         wait_time: float = 2.) -> None:
    """Make the config's visualization hook draw test results.

    Works with mmdet's ``DetVisualizationHook`` (which writes under ``test_out_dir``) and mmseg's
    ``SegVisualizationHook`` (whose visualizer writes under ``save_dir``; it draws every image
    unless the config sets its ``interval``).

    Raises:
        KeyError: the config has no ``default_hooks.visualization`` to switch on.
    """
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise KeyError(
            f'--show/--show-dir need a visualization hook, but config {cfg.filename} has no '
            'default_hooks.visualization; add e.g. dict(type="DetVisualizationHook") (mmdet) '
            'or dict(type="SegVisualizationHook") (mmseg)')
    hook['draw'] = True
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        # the hook's class as the Runner will build it: in the config's default scope
        with HOOKS.switch_scope_and_registry(cfg.get('default_scope')) as registry:
            hook_cls = registry.get(hook['type'])
        if hook_cls is not None and 'test_out_dir' in inspect.signature(hook_cls).parameters:
            hook['test_out_dir'] = show_dir
        else:
            cfg.visualizer['save_dir'] = show_dir
            hook.setdefault('interval', 1)  # SegVisualizationHook's default draws every 50th
