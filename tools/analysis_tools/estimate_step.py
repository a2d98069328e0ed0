"""Per-GPU memory and FLOPs of one pretraining step of a config, without weights or a GPU.

    python tools/analysis_tools/estimate_step.py \
        configs/umg/umg-clip_vit-b16_8xb128-amp-40k_umg41m.py \
        --world-size 8 --regions 32 --segments 64 --texts 3 --variants --largest-batch

See umg_mm/benchmark/estimator.py for what is measured and how.
"""
import argparse
import itertools

from mmengine.config import Config
from mmengine.registry import init_default_scope

import umg_mm  # noqa: F401
from umg_mm.benchmark.estimator import GPU_BYTES, estimate_pretrain_step, largest_batch

GIB = 2**30


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--world-size', type=int, default=8)
    parser.add_argument('--batch-size', type=int, help='images per GPU (default: the config)')
    parser.add_argument('--regions', type=int, default=32, help='regions per image')
    parser.add_argument('--segments', type=int, default=64, help='segments per image')
    parser.add_argument('--texts', type=int, default=3, help='texts per region and segment')
    parser.add_argument('--image-size', type=int, help='default: the tower\'s native size')
    parser.add_argument('--gpu', type=int, choices=sorted(GPU_BYTES), default=80)
    parser.add_argument('--lora', action='store_true', help='LoRA r=16 on both towers')
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--grad-checkpointing', action=argparse.BooleanOptionalAction,
                        help='default: as configured')
    parser.add_argument('--variants', action='store_true',
                        help='every combination of full/LoRA, checkpointing and AMP')
    parser.add_argument('--largest-batch', action='store_true',
                        help='also the largest batch per GPU that fits --gpu')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    variants = list(itertools.product([False, True], [False, True], [False, True])) \
        if args.variants else [(args.lora, args.grad_checkpointing, args.amp)]
    print(f'{args.config}: {args.world_size} ranks, {args.regions} regions, {args.segments} '
          f'segments, {args.texts} texts each; GiB per rank at the step\'s peak')
    header = ('| tuning | checkpointing | AMP | batch | weights | gradients | optimizer | '
              'activations | losses | total | GFLOPs/image | gathered MiB | fits 80 | fits 141 |')
    if args.largest_batch:
        header += f' largest batch ({args.gpu} GB) |'
    print(header)
    print('|' + ' --- |' * (header.count('|') - 1))
    for lora, checkpointing, amp in variants:
        def estimate(batch_size):
            return estimate_pretrain_step(
                cfg, args.world_size, batch_size, args.regions, args.segments, args.texts,
                args.image_size, lora, checkpointing, amp)

        e = estimate(args.batch_size or cfg.train_dataloader.batch_size)
        row = (f'| {"LoRA" if lora else "full"} | '
               f'{"config" if checkpointing is None else "on" if checkpointing else "off"} | '
               f'{"on" if amp else "off"} | {e.batch_size} | {e.weights / GIB:.2f} | '
               f'{e.gradients / GIB:.2f} | {e.optimizer / GIB:.2f} | {e.activations / GIB:.2f} | '
               f'{e.losses / GIB:.2f} | {e.peak / GIB:.2f} | {e.flops_per_image / 1e9:.1f} | '
               f'{e.gathered_bytes / 2**20:.1f} | {"yes" if e.fits(80) else "no"} | '
               f'{"yes" if e.fits(141) else "no"} |')
        if args.largest_batch:
            row += f' {largest_batch(estimate, args.gpu)} |'
        print(row, flush=True)


if __name__ == '__main__':
    main()
