"""Test (and evaluate) a checkpoint with a config's test loop and metrics.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR] [--out FILE.pkl]
        [--metrics-out FILE.json] [--cfg-options k=v ...]
    bash tools/dist_test.sh CONFIG CHECKPOINT NGPUS [args...]
"""
import argparse
import os.path as osp

import umg_mm  # noqa: F401  (registers components, applies torch compatibility fixes)
from mmengine.dist import is_main_process
from umg_mm.evaluation.metrics import AtomicDumpResults
from umg_mm.utils.atomic_io import plain_metrics, write_json_atomic
from umg_mm.utils.compat import shutdown_distributed
from umg_mm.utils.launch import add_common_args, build_runner, enable_visualization, load_config
from umg_mm.structures.vocabulary_files import check_vocabulary_files


def parse_args():
    parser = argparse.ArgumentParser(description='Test a model with umg_mm')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump predictions to this pickle file')
    parser.add_argument('--metrics-out',
                        help='also write the metrics (name: value) to this JSON file')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--show-dir', help='write pictures of the predictions here')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds each shown picture stays')
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = load_config(args)
    check_vocabulary_files(cfg, skip=('train_dataloader',))
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show_dir, args.show, args.wait_time)
    runner = build_runner(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must name a .pkl or .pickle file, got {args.out}')
        runner.test_evaluator.metrics.append(AtomicDumpResults(out_file_path=args.out))
    metrics = runner.test()
    del runner  # before the process groups go (see shutdown_distributed)
    if args.metrics_out and is_main_process():
        write_json_atomic(args.metrics_out, plain_metrics(metrics), indent=1)
    shutdown_distributed()


if __name__ == '__main__':
    main()
