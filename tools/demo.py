"""Open-vocabulary predictions on an image or a folder of images, with pictures and a JSON.

    python tools/demo.py IMAGE --config CONFIG --checkpoint CKPT --task panoptic \
        --vocab "circle,star,grass,sky" --stuff "grass,sky" --out vis.png [--json results.json]
    python tools/demo.py FOLDER --config CONFIG --checkpoint CKPT --task semantic \
        --vocab ade20k_150 --out-dir vis/ [--json vis/results.json]

--vocab is a comma-separated list of class names (``|`` separates synonyms: "car|automobile"),
a vocabulary file, or a shipped benchmark name (ade20k_150, coco_panoptic_133, ...). Tasks:
classification, retrieval (--texts), region (--boxes), semantic, panoptic; which a config's model
can do: docs/inference.md.
"""
import argparse
import os.path as osp
import sys

import mmcv
import umg_mm  # noqa: F401  (registers components, applies torch compatibility fixes)
from mmengine.config import Config, DictAction
from mmengine.utils import ProgressBar
from umg_mm.apis import TASKS, UMGInferencer, task_arguments
from umg_mm.apis.image_inputs import input_names, list_images
from umg_mm.apis.results import json_ready
from umg_mm.apis.typed_inputs import parse_boxes, parse_vocabulary
from umg_mm.apis.visualization import write_picture
from umg_mm.utils.atomic_io import write_json_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='umg_mm open-vocabulary demo')
    parser.add_argument('input', help='an image file or a folder of images')
    parser.add_argument('--config', required=True, help='model config file')
    parser.add_argument('--checkpoint', required=True, help='checkpoint file (.pth)')
    parser.add_argument('--task', choices=TASKS,
                        help="what to predict (default: the model's first task)")
    parser.add_argument('--vocab', help='class names "a,b,c" (synonyms "car|automobile"), a '
                        "vocabulary file or a benchmark name (default: the config's)")
    parser.add_argument('--stuff', help='panoptic: which --vocab classes are stuff ("grass,sky" '
                        'or a file); default: none (without --vocab: the config\'s stuff)')
    parser.add_argument('--texts', nargs='+', help='retrieval: the texts to score')
    parser.add_argument('--boxes', nargs='+', metavar='X1,Y1,X2,Y2',
                        help='region: boxes in pixels, applied to every image')
    parser.add_argument('--templates', help='prompt templates (set name or file), '
                        'UMGCLIPPretrainer tasks only')
    parser.add_argument('--topk', type=int, help='classification: classes listed (default 5)')
    parser.add_argument('--out', help='picture of a single image (.png or .jpg)')
    parser.add_argument('--out-dir', help='folder input: one picture per image here')
    parser.add_argument('--json', help='results as JSON (folder default: OUT_DIR/results.json)')
    parser.add_argument('--device', default=None, help='cpu, cuda, cuda:1 ... (default: first '
                        'available)')
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def call_options(args) -> dict:
    """The task-specific arguments given: texts, templates, topk, and boxes (one set, for every
    image)."""
    options = dict(texts=args.texts, templates=args.templates, topk=args.topk,
                   boxes=parse_boxes(args.boxes))
    return {key: value for key, value in options.items() if value is not None}


def main(argv=None):
    args = parse_args(argv)
    folder = osp.isdir(args.input)
    if folder and args.out_dir is None:
        raise ValueError(f'{args.input} is a folder: give --out-dir for its pictures')
    if not folder and args.out is None and args.json is None:
        raise ValueError('give --out (picture) and/or --json (results) for a single image')
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    inferencer = UMGInferencer(cfg, args.checkpoint, vocabulary=parse_vocabulary(args.vocab),
                               stuff=args.stuff, device=args.device)
    task = task_arguments(inferencer, args.task)
    images = list_images(args.input) if folder else [args.input]
    names = input_names(images)
    options = call_options(args)
    draw = args.out_dir is not None if folder else args.out is not None
    predictions, pictures, classes = [], [], None
    progress = ProgressBar(len(images), file=sys.stdout) if folder else None
    for start in range(0, len(images), args.batch_size):  # pictures written batch by batch
        chunk = images[start:start + args.batch_size]
        chunk_options = {key: [value] * len(chunk) if key == 'boxes' else value
                         for key, value in options.items()}
        out = inferencer(chunk, batch_size=args.batch_size, return_vis=draw, **task,
                         **chunk_options)
        classes = out['classes']
        predictions.extend(out['predictions'])
        for name, picture in zip(names[start:], out['visualization']):
            pictures.append(args.out if not folder else osp.join(args.out_dir, f'{name}.png'))
            write_picture(pictures[-1], mmcv.rgb2bgr(picture))
        if progress is not None:
            progress.update(len(chunk))
    if progress is not None:
        progress.file.write('\n')
    json_path = args.json or (osp.join(args.out_dir, 'results.json') if folder else None)
    if json_path is not None:
        records = [dict(image=image, picture=picture, **prediction) for image, picture, prediction
                   in zip(images, pictures or [None] * len(images), json_ready(predictions))]
        write_json_atomic(json_path, dict(task=task.get('task', inferencer.tasks[0]),
                                          classes=classes, config=args.config,
                                          checkpoint=args.checkpoint, images=records), indent=1)
    print(f'{task.get("task", inferencer.tasks[0])} on {len(images)} image(s)'
          + (f'; pictures: {args.out or args.out_dir}' if pictures else '')
          + (f'; results: {json_path}' if json_path else ''))


if __name__ == '__main__':
    main()
