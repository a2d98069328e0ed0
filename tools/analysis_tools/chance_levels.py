"""Print and save the chance level of every metric of a synthetic world's split.

    python tools/analysis_tools/chance_levels.py data/synthetic --split val

Each value is the expected score (%) of a predictor that ignores the image (random ranking,
random label per region or pixel), computed from the split's own files by
:func:`umg_mm.evaluation.chance_levels.chance_levels`, keyed as the metrics write
``metrics.json``. The json goes to ``--out`` (default
``work_dirs/chance_levels/<world folder name>_<split>.json``).
"""
import argparse
import os.path as osp

from umg_mm.evaluation.chance_levels import chance_levels
from umg_mm.utils.atomic_io import write_json_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('world', help='synthetic world folder (tools/make_synthetic_data.py)')
    parser.add_argument('--split', default='val', help='split of the world (val, dev, train)')
    parser.add_argument('--out', help='json file to write')
    return parser.parse_args(argv)


def table(levels: dict) -> str:
    """Markdown table: one row per metric key (without its ``_seen`` / ``_held_out`` suffix),
    columns all / seen / held-out."""
    rows = []
    for key in levels:
        base = key[:-len('_held_out')] if key.endswith('_held_out') else \
            key[:-len('_seen')] if key.endswith('_seen') else key
        if base not in rows:
            rows.append(base)

    def cell(key):
        return f'{levels[key]:.2f}' if key in levels else '-'

    lines = ['| metric | chance (%) | seen | held-out |', '| --- | --- | --- | --- |']
    lines += [f'| {r} | {cell(r)} | {cell(r + "_seen")} | {cell(r + "_held_out")} |'
              for r in rows]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    levels = chance_levels(args.world, args.split)
    out = args.out or osp.join('work_dirs', 'chance_levels',
                               f'{osp.basename(osp.normpath(args.world))}_{args.split}.json')
    write_json_atomic(out, dict(world=args.world, split=args.split, chance_levels=levels),
                      indent=1)
    print(f'Chance levels of {args.world} ({args.split} split): a predictor that ignores the '
          f'image\n\n{table(levels)}\nwritten to {out}')


if __name__ == '__main__':
    main()
