"""Train a model from a config (mmdet, mmseg, mmpretrain or umg_mm pretraining configs).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options k=v ...]
    bash tools/dist_train.sh CONFIG NGPUS [args...]   # CPU-only hosts: gloo, one process per rank
"""
import argparse

import umg_mm  # noqa: F401  (registers components, applies torch compatibility fixes)
from umg_mm.utils.checkpoint_files import find_resumable_checkpoint
from umg_mm.utils.compat import shutdown_distributed
from umg_mm.utils.clip_weights import check_clip_weights
from umg_mm.utils.launch import add_common_args, build_runner, check_amp_device, load_config
from umg_mm.structures.vocabulary_files import check_vocabulary_files


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model with umg_mm')
    add_common_args(parser)
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the latest one in the work dir '
        '(the one last_checkpoint names, else the newest that loads)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the real batch size')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args)
    check_vocabulary_files(cfg)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    check_amp_device(cfg)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.load_from = find_resumable_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    check_clip_weights(cfg)
    build_runner(cfg).train()
    shutdown_distributed()


if __name__ == '__main__':
    main()
