"""Measure pseudo-annotations against ground truth of the same images: box precision / recall
(IoU >= 0.5, same class), PQ of the masks, image-tag precision / recall; all classes, and the
seen and held-out ones apart (umg_mm.data_engine.quality).

    python tools/analysis_tools/eval_pseudo_annotations.py PSEUDO GROUND_TRUTH \\
        --held-out data/fresh/vocabularies/held_out.txt --things data/fresh/vocabularies/things.txt

PSEUDO and GROUND_TRUTH: a folder tree of per-image JSON, a ``.jsonl`` index or shards; images
are matched by file stem. ``--out`` writes the figures as JSON.
"""
import argparse
import math
import os.path as osp
import sys

from umg_mm.data_engine.quality import evaluate, pair_records
from umg_mm.datasets.umg_sources import (expand_shards, iter_folder_records, iter_index_records,
                                         iter_shard_records)
from umg_mm.structures.vocabulary import load_held_out_names, load_vocabulary
from umg_mm.utils.atomic_io import write_json_atomic


def read_records(path: str):
    """The records stored at ``path`` (folder tree, ``.jsonl`` index or shards); a record that
    does not parse stops the evaluation with its file and line."""
    if osp.isdir(path):
        sources = iter_folder_records(path)
    elif path.endswith('.jsonl'):
        sources = iter_index_records(path)
    else:
        sources = iter_shard_records(expand_shards(path))
    for src in sources:
        if src.record is None:
            raise ValueError('; '.join(str(p) for p in src.problems))
        yield src.record


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('pseudo', help='the pseudo-annotations')
    parser.add_argument('ground_truth', help='ground-truth records of the same images')
    parser.add_argument('--held-out', default=None, help='file of held-out class names')
    parser.add_argument('--things', default=None, help='vocabulary file of the thing classes '
                        '(PQ of things and stuff apart)')
    parser.add_argument('--out', default=None, help='write the figures to this JSON file')
    return parser.parse_args(argv)


def _fmt(value: float) -> str:
    return '-' if math.isnan(value) else f'{value:.1f}'


def table(result: dict) -> str:
    """The figures as a Markdown table (all / seen / held-out)."""
    lines = ['| measure (%) | all | seen | held-out |', '| --- | --- | --- | --- |']
    for label, level, key in (('box precision (IoU>=0.5)', 'boxes', 'precision'),
                              ('box recall (IoU>=0.5)', 'boxes', 'recall'),
                              ('tag precision', 'tags', 'precision'),
                              ('tag recall', 'tags', 'recall')):
        lines.append(f'| {label} | ' + ' | '.join(_fmt(result[level][g][key])
                                                 for g in ('all', 'seen', 'held_out')) + ' |')
    masks = result['masks']
    lines.append('| mask PQ | ' + ' | '.join(_fmt(masks[g]) for g in ('all', 'seen', 'held_out'))
                 + ' |')
    if 'things' in masks:
        lines.append(f'\nmask PQ things {_fmt(masks["things"])}, stuff {_fmt(masks["stuff"])}')
    return '\n'.join(lines)


def _json_safe(value):
    """``value`` with NaN (a group without classes) as ``None``."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return None if isinstance(value, float) and math.isnan(value) else value


def main(argv=None) -> int:
    args = parse_args(argv)
    held_out = load_held_out_names(args.held_out) if args.held_out else []
    things = load_vocabulary(args.things).class_names if args.things else None
    pairs = pair_records(read_records(args.pseudo), read_records(args.ground_truth))
    result = evaluate(pairs, held_out, things)
    print(f'{result["images"]} image(s); held out: {", ".join(held_out) or "none"}\n')
    print(table(result))
    if args.out:
        write_json_atomic(args.out, _json_safe(result), indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
