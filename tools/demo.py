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

import umg_mm  # noqa: F401  (registers components, applies torch compatibility fixes)
from mmengine.config import Config, DictAction
from umg_mm.apis import TASKS, UMGInferencer
from umg_mm.apis.image_inputs import list_images
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
                        'or a file); default: the model\'s and COCO\'s stuff classes')
    parser.add_argument('--texts', nargs='+', help='retrieval: the texts to score')
    parser.add_argument('--boxes', nargs='+', metavar='X1,Y1,X2,Y2',
                        help='region: boxes in pixels, applied to every image')
    parser.add_argument('--templates', help='prompt templates (set name or file), '
                        'UMGCLIPPretrainer tasks only')
    parser.add_argument('--topk', type=int, default=5, help='classification: classes listed')
    parser.add_argument('--out', help='picture of a single image (.png or .jpg)')
    parser.add_argument('--out-dir', help='folder input: one picture per image here')
    parser.add_argument('--json', help='results as JSON (folder default: OUT_DIR/results.json)')
    parser.add_argument('--device', default=None, help='cpu, cuda, cuda:1 ... (default: first '
                        'available)')
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


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
    inferencer = UMGInferencer(cfg, args.checkpoint, device=args.device, show_progress=folder)
    images = list_images(args.input) if folder else [args.input]
    boxes = parse_boxes(args.boxes)
    out = inferencer(images, task=args.task, vocabulary=parse_vocabulary(args.vocab),
                     stuff=args.stuff, texts=args.texts, templates=args.templates,
                     topk=args.topk, batch_size=args.batch_size,
                     boxes=None if boxes is None else [boxes] * len(images),
                     out_dir=args.out_dir if folder else None,
                     return_vis=not folder and args.out is not None)
    pictures = out['pictures']
    if args.out is not None and not folder:
        write_picture(args.out, out['visualization'][0])
        pictures = [args.out]
    json_path = args.json or (osp.join(args.out_dir, 'results.json') if folder else None)
    if json_path is not None:
        records = [dict(image=image, picture=picture, **prediction) for image, picture, prediction
                   in zip(images, pictures or [None] * len(images),
                          json_ready(out['predictions']))]
        write_json_atomic(json_path, dict(task=out['task'], classes=out['classes'],
                                          config=args.config, checkpoint=args.checkpoint,
                                          images=records), indent=1)
    print(f'{out["task"]} on {len(images)} image(s)'
          + (f'; pictures: {args.out or args.out_dir}' if pictures else '')
          + (f'; results: {json_path}' if json_path else ''))


if __name__ == '__main__':
    main()
