"""Pseudo-annotate raw images with the data engine: UMG-schema records (tags, captions, boxes,
masks, each with its provenance under ``extra``) from a chain of models (docs/data_engine.md).

    python tools/build_pseudo_annotations.py IMAGES OUT --config CONFIG
    python tools/build_pseudo_annotations.py images/ out/ --config \\
        configs/data_engine/umg-engine_vit-tiny_synthetic-64x64.py --format jsonl \\
        --cfg-options stages.0.score_thr=0.5

IMAGES: a folder (searched recursively), an index file (``.txt``: one image path per line;
``.jsonl``: UMG records, their ``image.file_name`` read) or WebDataset shards (``.tar``, glob,
brace pattern). A re-run into the same OUT skips the shards already written (safe after a crash,
even ``kill -9``); ``--worker I/N`` splits the shards between N processes (one per GPU).
"""
import argparse
import sys

from mmengine.config import Config, DictAction

import umg_mm  # noqa: F401  (registers the models the stages build)
from umg_mm.data_engine import DataEngine, list_items, summary_table
from umg_mm.data_engine.writers import FORMATS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('images', help='a folder, an index file (.txt/.jsonl) or shards')
    parser.add_argument('out', help='the output folder (resumed when it holds this run)')
    parser.add_argument('--config', required=True, help='the engine config (stages = [...])')
    parser.add_argument('--img-root', default=None,
                        help="folder an index file's image names are relative to (default: "
                        "the index file's folder)")
    parser.add_argument('--format', choices=FORMATS, default=None,
                        help="output form (default: the config's output_format, else folder)")
    parser.add_argument('--shard-size', type=int, default=None,
                        help="images per shard (default: the config's shard_size, else 64)")
    parser.add_argument('--device', default=None, help='cpu, cuda, cuda:1 (default: cuda if '
                        'present)')
    parser.add_argument('--worker', default='0/1', help='I/N: do the shards I::N of the input')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. stages.0.score_thr=0.5 (a config '
                        'variable used inside stages is resolved when the file is read: set '
                        'the stage key itself)')
    args = parser.parse_args(argv)
    try:
        index, count = (int(v) for v in args.worker.split('/'))
    except ValueError:
        parser.error(f'--worker {args.worker!r}: give I/N, e.g. 0/4')
    args.worker = (index, count)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    engine = DataEngine(cfg.stages, shard_size=args.shard_size or cfg.get('shard_size', 64),
                        output_format=args.format or cfg.get('output_format', 'folder'),
                        device=args.device, progress=not args.no_progress)
    items = list_items(args.images, args.img_root)
    summary = engine.run(items, args.out, source=args.images, worker=args.worker)
    print(f'\n{summary["shards"]} shard(s) written to {args.out}'
          + (f', {summary["unreadable"]} unreadable image(s) skipped' if summary['unreadable']
             else '') + '\n' + summary_table(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
