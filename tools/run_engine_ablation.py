"""The data claim of UMG-CLIP in miniature: pretrain the same tiny model with the same budget on
(a) the ground truth of a small labelled subset only, (b) that subset plus the data engine's
pseudo-annotations of the other images, (c) the ground truth of every image; evaluate each
zero-shot (the ``all`` arm of tools/run_ablation.py: all three losses, the same test evaluators).
A fourth arm, ``subset+pseudo_stuff``, keeps only the pseudo-annotations of the world's stuff
classes (segments and image tags; regions and captions dropped): what the engine labels well.

    python tools/make_synthetic_data.py data/world7 --seed 7
    python tools/build_pseudo_annotations.py data/world7/umg/train.jsonl work_dirs/engine7 \\
        --img-root data/world7/images/train --format jsonl \\
        --config configs/data_engine/umg-engine_vit-tiny_synthetic-64x64.py
    python tools/run_engine_ablation.py --data-root data/world7 \\
        --pseudo work_dirs/engine7/annotations.jsonl --labelled 200 --iters 600

The labelled subset is the first ``--labelled`` records of ``umg/train.jsonl``; pseudo-records of
those images are left out of arm (b). Arms can run in separate processes (``--arms``): each
writes ``<work-dir>/<arm>/test_metrics.json`` and the table is made from every finished arm:
``<work-dir>/engine_ablation.md`` (+ ``.json``).
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from run_ablation import arm_config, check_world, table  # noqa: E402  (the ablation's own)

ARMS = ('subset', 'subset+pseudo', 'subset+pseudo_stuff', 'all')
PSEUDO_ARMS = {'subset+pseudo': 'pseudo', 'subset+pseudo_stuff': 'pseudo_stuff'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config',
                        default='configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py')
    parser.add_argument('--data-root', required=True, help='the synthetic world')
    parser.add_argument('--pseudo', default=None,
                        help="the engine's records of the world's train images (.jsonl, file "
                        'names relative to images/train); needed by the subset+pseudo arms')
    parser.add_argument('--labelled', type=int, default=200,
                        help='how many train images keep their ground truth')
    parser.add_argument('--iters', type=int, default=600)
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--arms', nargs='+', default=list(ARMS), choices=ARMS)
    parser.add_argument('--work-dir', default='work_dirs/engine_ablation')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if set(PSEUDO_ARMS) & set(args.arms) and args.pseudo is None:
        parser.error('the subset+pseudo arms need --pseudo')
    return args


def _read_records(path: str) -> list:
    """The records of a ``.jsonl`` index; a line that is not a record with an
    ``image.file_name`` is an error naming the file and the line."""
    from umg_mm.datasets.umg_sources import iter_index_records
    records = []
    for src in iter_index_records(path):
        if src.problems or not src.img_path:
            detail = src.problems[0].message if src.problems else 'no image.file_name'
            raise ValueError(f'{path} ({src.record_id or "the file"}): {detail}')
        records.append(src.record)
    return records


def _write_records(path: str, records: list) -> None:
    from umg_mm.utils.atomic_io import write_lines_atomic
    write_lines_atomic(path, [json.dumps(record) for record in records])


def split_records(args) -> dict:
    """Write the labelled subset's ground truth, the pseudo-records of the other train images
    and their stuff-only form under the work dir; return the files' paths."""
    truth = _read_records(osp.join(args.data_root, 'umg', 'train.jsonl'))
    if not 0 < args.labelled < len(truth):
        raise ValueError(f'--labelled {args.labelled}: give 1 to {len(truth) - 1} (the world '
                         f'has {len(truth)} train images)')
    from umg_mm.data_engine.sample import keep_classes
    from umg_mm.structures.vocabulary import load_vocabulary
    subset = truth[:args.labelled]
    files = dict(subset=osp.abspath(osp.join(args.work_dir, 'subset.jsonl')))
    _write_records(files['subset'], subset)
    message = f'labelled subset: {len(subset)} images'
    if args.pseudo is not None:
        labelled = {record['image']['file_name'] for record in subset}
        pseudo = [record for record in _read_records(args.pseudo)
                  if record['image']['file_name'] not in labelled]
        if not pseudo:
            raise ValueError(f'{args.pseudo}: no pseudo-record of an image outside the '
                             f'labelled subset')
        stuff = load_vocabulary(osp.join(args.data_root, 'vocabularies', 'stuff.txt')).class_names
        reduced = [r for r in (keep_classes(record, stuff) for record in pseudo) if r is not None]
        files['pseudo'] = osp.abspath(osp.join(args.work_dir, 'pseudo_rest.jsonl'))
        files['pseudo_stuff'] = osp.abspath(osp.join(args.work_dir, 'pseudo_rest_stuff.jsonl'))
        _write_records(files['pseudo'], pseudo)
        _write_records(files['pseudo_stuff'], reduced)
        message += (f'; pseudo-annotated rest: {len(pseudo)} images, {len(reduced)} with '
                    f'stuff')
    print(message)
    return files


def engine_arm_config(args, arm: str, files: dict):
    """run_ablation's ``all`` arm (same budget, seed and evaluators) trained on this arm's
    records: the subset's ground truth, plus (stuff-only) pseudo-records, or the whole train
    split."""
    cfg = arm_config(args, 'all')
    base = cfg.train_dataloader.dataset
    subset = dict(base, ann_file=files['subset'])
    if arm == 'subset':
        cfg.train_dataloader.dataset = subset
    elif arm in PSEUDO_ARMS:
        cfg.train_dataloader.dataset = dict(type='ConcatDataset', datasets=[
            subset, dict(base, ann_file=files[PSEUDO_ARMS[arm]])])
    cfg.work_dir = osp.join(args.work_dir, arm.replace('+', '_'))
    return cfg


def finished_arms(work_dir: str) -> dict:
    """The test metrics of every arm that finished under ``work_dir``, in the arms' order."""
    results = {}
    for arm in ARMS:
        path = osp.join(work_dir, arm.replace('+', '_'), 'test_metrics.json')
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                results[arm] = json.load(f)
    return results


def main(argv=None):
    args = parse_args(argv)
    check_world(args.data_root)
    os.environ['UMG_SYNTHETIC_ROOT'] = osp.abspath(args.data_root)
    import umg_mm  # noqa: F401  (registers components)
    from mmengine.runner import Runner

    from umg_mm.utils.atomic_io import plain_metrics, write_json_atomic, write_text_atomic

    files = split_records(args)
    for arm in args.arms:
        runner = Runner.from_cfg(engine_arm_config(args, arm, files))
        runner.train()
        write_json_atomic(osp.join(runner.work_dir, 'test_metrics.json'),
                          plain_metrics(runner.test()), indent=1)
    results = finished_arms(args.work_dir)
    text = (f'Zero-shot metrics after {args.iters} iterations per arm, {args.labelled} labelled '
            f'images: all (seen / held-out), %.\n\n{table(results)}\n')
    write_json_atomic(osp.join(args.work_dir, 'engine_ablation.json'),
                      dict(iters=args.iters, labelled=args.labelled, results=results), indent=1)
    write_text_atomic(osp.join(args.work_dir, 'engine_ablation.md'), text)
    print(text)


if __name__ == '__main__':
    main()
