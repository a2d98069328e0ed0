"""A web page for open-vocabulary predictions (Gradio; ``pip install -e .[demo]``).

    python tools/web_demo.py                     # the main job's models (work_dirs/main_job/seed0)
    python tools/web_demo.py --panoptic CONFIG CKPT --semantic CONFIG CKPT --pretrain CONFIG CKPT
        [--device cuda] [--host 0.0.0.0] [--port 7860] [--examples FOLDER]

Upload or pick an image, type a vocabulary (any script) or pick a shipped one, choose the task
(panoptic, semantic, training-free dense, classification, region with boxes); the page shows the
picture, a legend of each class's colour and area, and offers the results as JSON. The logic is
``umg_mm.apis.web_demo`` (docs/inference.md#web-demo).
"""
import argparse
import os
import os.path as osp

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')  # no calls home

import umg_mm  # noqa: E402,F401  (registers components, applies torch compatibility fixes)
from umg_mm.apis.image_inputs import list_images  # noqa: E402
from umg_mm.apis.web_demo import (MAIN_JOB_HINT, WebDemo, build_app,  # noqa: E402
                                  main_job_models)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='umg_mm web demo')
    parser.add_argument('--main-job', default='work_dirs/main_job/seed0',
                        help='work dir of tools/main_job.py: its models are served unless given '
                        'by flag')
    for key, what in (('pretrain', 'dense (training-free), classification, region'),
                      ('semantic', 'semantic'), ('panoptic', 'panoptic')):
        parser.add_argument(f'--{key}', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                            help=f'the model for: {what}')
    parser.add_argument('--examples', help='a folder of example images (default: the main '
                        "job's held-out images, else data/synthetic/images/val)")
    parser.add_argument('--device', default=None, help='cpu, cuda, cuda:1 ... (default: first '
                        'available)')
    parser.add_argument('--host', default='127.0.0.1', help='address to serve on (0.0.0.0: all)')
    parser.add_argument('--port', type=int, default=7860)
    return parser.parse_args(argv)


def example_images(args, limit: int = 8):
    """Up to ``limit`` images of ``--examples``, the main job's held-out images or the world."""
    folders = [args.examples] if args.examples else [
        osp.join(args.main_job, 'held_out_images'), 'data/synthetic/images/val']
    for folder in folders:
        if osp.isdir(folder):
            return list_images(folder)[:limit]
    return []


def main(argv=None):
    args = parse_args(argv)
    models = main_job_models(args.main_job) if osp.isdir(args.main_job) else {}
    models.update({key: tuple(getattr(args, key)) for key in ('pretrain', 'semantic', 'panoptic')
                   if getattr(args, key)})
    if not models:
        raise SystemExit(f'no model: {args.main_job} holds no main job; {MAIN_JOB_HINT}')
    for key, (config, checkpoint) in sorted(models.items()):
        print(f'{key}: {config} {checkpoint}')
    examples = example_images(args)
    app = build_app(WebDemo(models, device=args.device), examples)
    app.launch(server_name=args.host, server_port=args.port, show_error=False, ssr_mode=False,
               allowed_paths=sorted({osp.dirname(osp.abspath(p)) for p in examples}))


if __name__ == '__main__':
    main()
