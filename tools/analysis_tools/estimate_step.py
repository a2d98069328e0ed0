"""Per-GPU memory and FLOPs of one training step of a config, without weights or a GPU.

    python tools/analysis_tools/estimate_step.py \
        configs/umg/umg-clip_vit-b16_8xb128-amp-40k_umg41m.py \
        --world-size 8 --regions 32 --segments 64 --texts 3 --variants --largest-batch
    python tools/analysis_tools/estimate_step.py \
        configs/umg/umg-mask2former_vit-b16_8xb2-amp-60k_coco-stuff164k-640x640.py --largest-batch

Pretraining configs (UMGCLIPPretrainer): umg_mm/benchmark/estimator.py; semantic and panoptic
Mask2Former configs: umg_mm/benchmark/mask2former_estimator.py (what is measured and how).
"""
import argparse
import itertools

from mmengine.config import Config
from mmengine.registry import init_default_scope

import umg_mm  # noqa: F401
from umg_mm.benchmark.estimator import GPU_BYTES, estimate_pretrain_step, largest_batch
from umg_mm.benchmark.mask2former_estimator import SEGMENTS, estimate_mask2former_step

GIB = 2**30
MASK2FORMER = ('OpenVocabEncoderDecoder', 'OpenVocabMask2Former')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--world-size', type=int, help='default: the gpus of the config name '
                        '({gpus}x{batch}), else 8')
    parser.add_argument('--batch-size', type=int, help='images per GPU (default: the config)')
    parser.add_argument('--regions', type=int, default=32, help='regions per image (pretraining)')
    parser.add_argument('--segments', type=int,
                        help=f'segments per image (default: 64 for pretraining, {SEGMENTS} for '
                        f'Mask2Former)')
    parser.add_argument('--texts', type=int, default=3,
                        help='texts per region and segment (pretraining)')
    parser.add_argument('--image-size', type=int,
                        help='default: the tower\'s native size (pretraining), the crop size')
    parser.add_argument('--gpu', type=int, choices=sorted(GPU_BYTES), default=80)
    parser.add_argument('--lora', action=argparse.BooleanOptionalAction,
                        help='LoRA r=16 (both towers in pretraining, the image tower in '
                        'Mask2Former); --no-lora: full tuning (pretraining), no LoRA; default: '
                        'as configured')
    parser.add_argument('--amp', action=argparse.BooleanOptionalAction,
                        help='default: as configured (AmpOptimWrapper or FSDP\'s 16-bit mixed '
                        'precision)')
    parser.add_argument('--grad-checkpointing', action=argparse.BooleanOptionalAction,
                        help='default: as configured')
    parser.add_argument('--strategy', choices=['ddp', 'fsdp'],
                        help='fsdp: parameters, gradients and optimizer states sharded over '
                        'the world (full shard); default: the config\'s strategy')
    parser.add_argument('--variants', action='store_true',
                        help='every combination of full/LoRA (pretraining), checkpointing, AMP')
    parser.add_argument('--largest-batch', action='store_true',
                        help='also the largest batch per GPU that fits --gpu (a second estimate '
                        'at half the batch; the peak taken as linear in the batch)')
    return parser.parse_args(argv)


def world_size_of(path: str) -> int:
    """The ``{gpus}`` of a ``{gpus}x{batch}`` config name, else 8."""
    for part in path.rsplit('/', 1)[-1].split('_'):
        gpus, _, batch = part.partition('x')
        if gpus.isdigit() and batch[:1].isdigit():
            return int(gpus)
    return 8


def strategy_of(cfg) -> str:
    strategy = cfg.get('strategy') or {}
    return 'fsdp' if strategy.get('type') == 'FSDPStrategy' else 'ddp'


def amp_of(cfg) -> bool:
    """AMP (``AmpOptimWrapper``) or FSDP's mixed precision in 16 bits."""
    precision = ((cfg.get('strategy') or {}).get('model_wrapper') or {}).get('mixed_precision')
    return cfg.get('optim_wrapper', {}).get('type') == 'AmpOptimWrapper' or \
        (precision or {}).get('param_dtype') in ('bfloat16', 'float16')


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    mask2former = cfg.model['type'] in MASK2FORMER
    world_size = args.world_size or world_size_of(args.config)
    strategy = args.strategy or strategy_of(cfg)
    amp = args.amp if args.amp is not None else amp_of(cfg)
    if args.variants:
        tunings = [None] if mask2former else [False, True]
        variants = list(itertools.product(tunings, [False, True], [False, True]))
    else:
        variants = [(args.lora, args.grad_checkpointing, amp)]
    if mask2former:
        segments = args.segments or SEGMENTS
        print(f'{args.config}: {segments} segments per image; GiB per GPU at the step\'s peak')
    else:
        segments = 64 if args.segments is None else args.segments
        print(f'{args.config}: {world_size} ranks ({strategy}), {args.regions} regions, '
              f'{segments} segments, {args.texts} texts each; GiB per GPU at the step\'s peak')
    header = ('| tuning | checkpointing | AMP | batch | weights | gradients | optimizer | '
              'activations | losses | total | GFLOPs/image | gathered MiB | fits 80 | fits 141 |')
    if args.largest_batch:
        header += f' largest batch ({args.gpu} GB) |'
    print(header)
    print('|' + ' --- |' * (header.count('|') - 1))
    for tuning, checkpointing, use_amp in variants:
        def estimate(batch_size):
            if mask2former:
                e = estimate_mask2former_step(cfg, batch_size, segments, args.image_size,
                                              tuning, checkpointing, use_amp)
            else:
                e = estimate_pretrain_step(
                    cfg, world_size, batch_size, args.regions, segments, args.texts,
                    args.image_size, tuning, checkpointing, use_amp)
            if strategy != 'fsdp':
                return e
            print(f'(DDP, unsharded: {e.peak / GIB:.2f} GiB per GPU at batch {e.batch_size})')
            return e.fsdp(world_size)

        e = estimate(args.batch_size or cfg.train_dataloader.batch_size)
        name = 'config' if tuning is None else 'LoRA' if tuning else 'full'
        row = (f'| {name} | '
               f'{"config" if checkpointing is None else "on" if checkpointing else "off"} | '
               f'{"on" if use_amp else "off"} | {e.batch_size} | {e.weights / GIB:.2f} | '
               f'{e.gradients / GIB:.2f} | {e.optimizer / GIB:.2f} | {e.activations / GIB:.2f} | '
               f'{e.losses / GIB:.2f} | {e.peak / GIB:.2f} | {e.flops_per_image / 1e9:.1f} | '
               f'{e.gathered_bytes / 2**20:.1f} | {"yes" if e.fits(80) else "no"} | '
               f'{"yes" if e.fits(141) else "no"} |')
        if args.largest_batch:
            half = max(e.batch_size // 2, 1)
            small = estimate(half) if half < e.batch_size else e
            large = e if half < e.batch_size else estimate(2 * e.batch_size)
            row += f' {largest_batch(small, large, args.gpu)} |'
        print(row, flush=True)


if __name__ == '__main__':
    main()
