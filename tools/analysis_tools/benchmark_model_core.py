"""Time the UMG-CLIP model core against plain open_clip (a benchmark, not a test).

Prints a Markdown table:

* the backbone's dense forward (``out_type='dense'``, both read-outs) against open_clip's
  ``encode_image`` on the same architecture and input size (ViT-B-16, random init; the goal is an
  overhead within 5%), plus the backbone at a size other than its native one (positional
  embeddings interpolated on the fly);
* the text encoder's classifier for an 847-class vocabulary: first call (encodes every prompt)
  against a second call (served from the cache).

Usage::

    python tools/analysis_tools/benchmark_model_core.py [--sizes 224 512] [--batch 1]
        [--repeats 5] [--classes 847] [--templates single] [--threads N]

Timings are CPU seconds of this process (``time.process_time``, all threads; robust on a shared
machine), medians over ``--repeats`` runs with the models alternating, after one warm-up. Use
``--threads 1`` (the default) for the steadiest figures.
"""
import argparse
import logging
import statistics
import time

import open_clip
import torch

import umg_mm  # noqa: F401
from umg_mm.datasets import list_vocabularies, load_vocabulary
from umg_mm.models.backbones import UMGCLIPBackbone
from umg_mm.models.text import UMGCLIPTextEncoder


def timed(fn) -> float:
    """CPU seconds the process spends in ``fn`` (all its threads): unlike wall time, this does not
    grow when other jobs on a shared machine take the cores away."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def interleaved(fns, repeats: int):
    """Median seconds of each function, calling them in turn ``repeats`` times after a warm-up."""
    for fn in fns:
        fn()
    runs = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, runs):
            times.append(timed(fn))
    return [statistics.median(times) for times in runs]


def vocabulary_of(size: int):
    """``size`` distinct class names from the shipped vocabularies, then numbered objects."""
    names = []
    for name in list_vocabularies():
        for synonyms in load_vocabulary(name).synonyms:
            if synonyms[0] not in names:
                names.append(synonyms[0])
    names += [f'object number {i}' for i in range(size - len(names))]
    return names[:size]


def bench_backbone(args):
    rows = []
    for size in args.sizes:
        cfg = open_clip.get_model_config(args.model)
        cfg['vision_cfg']['image_size'] = size
        clip = open_clip.create_model(args.model, force_image_size=size).eval()
        tokens = UMGCLIPBackbone(model_cfg=cfg, out_type='dense').eval()
        tokens.load_state_dict({k: v for k, v in clip.state_dict().items()
                                if k.startswith('visual.')}, strict=False)
        value = UMGCLIPBackbone(model_cfg=cfg, out_type='dense', dense_readout='value').eval()
        value.load_state_dict(tokens.state_dict())
        native = UMGCLIPBackbone(model_name=args.model, out_type='dense').eval()
        images = torch.randn(args.batch, 3, size, size)
        with torch.no_grad():
            plain, ours, ours_value, interpolated = interleaved(
                [lambda: clip.encode_image(images), lambda: tokens(images),
                 lambda: value(images), lambda: native(images)], args.repeats)
        rows.append((size, plain, ours, ours_value, interpolated))
        del clip
    print(f'\n### Backbone ({args.model}, random init, batch {args.batch}, '
          f'{torch.get_num_threads()} thread(s), CPU time, median of {args.repeats})\n')
    print('| input | open_clip encode_image | dense, tokens read-out | overhead | '
          'dense, value read-out | overhead | dense, 224-px model (pos. emb. resized on the fly) |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for size, plain, ours, ours_value, interpolated in rows:
        print(f'| {size} px | {plain * 1e3:.0f} ms | {ours * 1e3:.0f} ms | '
              f'{100 * (ours / plain - 1):+.1f}% | {ours_value * 1e3:.0f} ms | '
              f'{100 * (ours_value / plain - 1):+.1f}% | {interpolated * 1e3:.0f} ms |')


def bench_text(args):
    encoder = UMGCLIPTextEncoder(model_name=args.model, templates=args.templates).eval()
    names = vocabulary_of(args.classes)
    with torch.no_grad():
        first = timed(lambda: encoder.classifier(names))
        cached = statistics.median(timed(lambda: encoder.classifier(names))
                                   for _ in range(args.repeats))
    prompts = len(names) * len(encoder.templates)
    print(f'\n### Text encoder ({args.model}, {args.classes} classes x '
          f'{len(encoder.templates)} template(s) "{args.templates}" = {prompts} prompts)\n')
    print('| classifier call | time |')
    print('| --- | --- |')
    print(f'| first (encodes {prompts} prompts) | {first:.2f} s '
          f'({first / prompts * 1e3:.1f} ms per prompt) |')
    print(f'| cached (median of {args.repeats}) | {cached * 1e6:.0f} us |')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model', default='ViT-B-16')
    parser.add_argument('--sizes', type=int, nargs='+', default=[224, 512])
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--classes', type=int, default=847)
    parser.add_argument('--templates', default='single',
                        help='template set of the text benchmark (imagenet80 is 80x slower)')
    parser.add_argument('--threads', type=int, default=1, help='torch threads (default: 1)')
    parser.add_argument('--skip-backbone', action='store_true')
    parser.add_argument('--skip-text', action='store_true')
    args = parser.parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)  # open_clip warns that weights are random: known
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.skip_backbone:
        bench_backbone(args)
    if not args.skip_text:
        bench_text(args)


if __name__ == '__main__':
    main()
