"""Chance levels of the synthetic world's metrics: what a predictor that ignores the image scores.

Each value is the expected value (%) of the metric, computed from one split's own files, for a
predictor that draws its answer without looking at the image:

- ranking metrics (zero-shot top-k, mAP and ``any_top1``, retrieval recall): a uniformly random
  ranking of the candidates (the 10 things of ``vocabularies/things.txt``; the split's captions);
- region recognition: a uniformly random thing class per region;
- segmentation mIoU (``dense/``, semantic, ``panoptic_semseg/``): a uniformly random class per
  pixel, among the 17 classes of ``vocabularies/all.txt`` (the split's segmentation classes for
  the semantic maps). With ``P`` labelled pixels of which a share ``f_c`` is class ``c``, among
  ``V`` classes, the expected intersection is ``f_c P / V`` and the expected union
  ``f_c P + P / V - f_c P / V``; over thousands of pixels the ratio of the sums (what mmseg
  averages) concentrates on ``f_c / (V f_c + 1 - f_c)``, and every class is predicted, so the
  mean runs over all ``V`` classes (an absent class scores 0);
- panoptic PQ / SQ / RQ: 0. Labels drawn per pixel spread each predicted segment over the whole
  image, so it covers a share ``1 / V`` of any ground-truth segment: its IoU is at most ``1 / V``
  (``1 / 17``), never above the 0.5 a match needs, so there are no true positives.

The keys are those the metrics write to ``metrics.json`` (prefix included), with the
``_seen`` / ``_held_out`` variants split by the world's ``vocabularies/seen.txt`` under the
metrics' own rules; a variant whose subset is empty in the split is left out.
"""
import inspect
import json
import os.path as osp
from collections import Counter
from typing import Dict, List, Sequence

import cv2
import numpy as np
import pycocotools.mask as mask_utils

from umg_mm.structures.seen_classes import SeenClasses
from .metrics import ImageTextRetrievalMetric, ZeroShotClassificationMetric

IGNORE_INDEX = 255


def _default(metric: type, arg: str):
    return inspect.signature(metric.__init__).parameters[arg].default


def _lines(path: str) -> List[str]:
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def expected_average_precision(num_images: int, num_positives: int) -> float:
    """Expected average precision (in ``[0, 1]``) of a uniformly random ranking of
    ``num_images`` images of which ``num_positives`` are positive.

    ``AP = 1/m sum_j j / r_j`` (``r_j`` the rank of the j-th positive); rank ``r`` is positive
    with probability ``m / n`` and then holds ``1 + (r - 1)(m - 1)/(n - 1)`` positives on
    average, so ``E[AP] = (H_n + (m - 1)/(n - 1) (n - H_n)) / n`` with ``H_n`` the n-th harmonic
    number.
    """
    n, m = num_images, num_positives
    if not 0 < m <= n:
        raise ValueError(f'need 0 < num_positives <= num_images, got {m} and {n}')
    if n == 1:
        return 1.0
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    return (harmonic + (m - 1) / (n - 1) * (n - harmonic)) / n


def expected_recall_at_k(num_correct: np.ndarray, num_items: int, k: int) -> np.ndarray:
    """Probability that a uniformly random ranking of ``num_items`` items puts one of a query's
    ``num_correct`` correct items in the first ``k``: ``1 - C(n - c, k) / C(n, k)``."""
    miss = np.ones(len(num_correct))
    for j in range(min(k, num_items)):
        miss *= np.clip((num_items - num_correct - j) / (num_items - j), 0, None)
    return 1 - miss


def random_label_iou(pixels_per_class: np.ndarray) -> np.ndarray:
    """``(V,)`` expected IoU of uniformly random per-pixel labels against ground truth with these
    ``(V,)`` labelled-pixel counts (see the module docstring)."""
    num_classes = len(pixels_per_class)
    share = pixels_per_class / pixels_per_class.sum()
    return share / (num_classes * share + 1 - share)


class _World:
    """The files of one split of a synthetic world, read directly."""

    def __init__(self, data_root: str, split: str):
        with open(osp.join(data_root, 'meta.json')) as f:
            meta = json.load(f)
        if split not in meta['splits']:
            raise ValueError(f'{data_root} has no {split!r} split; it has {list(meta["splits"])}')
        self.root, self.split, self.meta = data_root, split, meta

        def vocab(name):
            return _lines(osp.join(data_root, meta['vocabularies'][name]))

        self.vocabulary, self.things = vocab('all'), vocab('things')
        seen = SeenClasses(osp.join(data_root, meta['vocabularies']['seen']))
        self.held_out = {name: not seen.is_seen([name]) for name in self.vocabulary}
        self.has_split = any(self.held_out.values())  # as the metrics' ClassSplit.has_split
        self.seg_classes = meta['splits'][split]['segmentation_classes']
        with open(osp.join(data_root, 'umg', f'{split}.jsonl')) as f:
            self.records = [json.loads(line) for line in f if line.strip()]

    def path(self, *parts: str) -> str:
        return osp.join(self.root, *parts)


def _subsets(held: np.ndarray, has_split: bool) -> Dict[str, np.ndarray]:
    """``{'': all, '_seen': not held, '_held_out': held}`` (the split only when it exists)."""
    subsets = {'': np.ones(len(held), dtype=bool)}
    if has_split:
        subsets.update(_seen=~held, _held_out=held)
    return subsets


def _put(out: Dict[str, float], key: str, rows: np.ndarray, values) -> None:
    """``out[key]`` = mean of ``values`` over ``rows`` in %, unless no row is selected."""
    if rows.any():
        out[key] = float(np.mean(np.asarray(values, dtype=np.float64)[rows]) * 100)


def _classification(world: _World) -> Dict[str, float]:
    """``zero_shot_cls/``: single-label top-k, multi-label mAP and ``any_top1``."""
    out, num, has_split = {}, len(world.things), world.has_split
    labels = np.array([int(line.rsplit(maxsplit=1)[1]) for line in
                       _lines(world.path('image_labels', f'{world.split}.txt'))])
    held_label = np.array([world.held_out[world.things[i]] for i in labels], dtype=bool)
    for k in _default(ZeroShotClassificationMetric, 'topk'):
        for suffix, rows in _subsets(held_label, has_split).items():
            _put(out, f'zero_shot_cls/top{k}{suffix}', rows,
                 np.full(len(rows), min(k, num) / num))

    path = world.path('image_labels', f'{world.split}_multilabel.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing: the world predates multi-label labels; '
                                f'write it again (tools/make_synthetic_data.py --overwrite)')
    with open(path) as f:
        data_list = json.load(f)['data_list']
    target = np.zeros((len(data_list), num), dtype=bool)
    for row, record in enumerate(data_list):
        target[row, record['gt_label']] = True
    held = np.array([world.held_out[n] for n in world.things], dtype=bool)
    positives = target.sum(axis=0)
    ap = np.array([expected_average_precision(len(target), m) if m else np.nan
                   for m in positives])
    for suffix, classes in _subsets(held, has_split).items():
        present = classes & (positives > 0)
        if present.any():
            out[f'zero_shot_cls/mAP{suffix}'] = float(ap[present].mean() * 100)
        rows = target[:, classes].any(axis=1)
        _put(out, f'zero_shot_cls/any_top1{suffix}', rows, target.sum(axis=1) / num)
    return out


def _retrieval(world: _World) -> Dict[str, float]:
    """``retrieval/``: each image's text is its first caption (first tag without captions);
    identical strings are all correct, as in :class:`ImageTextRetrievalMetric`."""
    texts, held = [], []
    for record in world.records:
        options = record.get('captions') or record.get('tags') or []
        if options:
            texts.append(options[0])
            held.append(any(world.held_out.get(t, False) for t in record.get('tags', [])))
    out, held = {}, np.array(held, dtype=bool)
    counts = Counter(texts)
    correct = np.array([counts[t] for t in texts])  # (N,) correct texts of each image
    for k in _default(ImageTextRetrievalMetric, 'topk'):
        recall = expected_recall_at_k(correct, len(texts), k)
        for direction in ('i2t', 't2i'):  # same correct sets both ways
            for suffix, rows in _subsets(held, world.has_split).items():
                _put(out, f'retrieval/{direction}_R@{k}{suffix}', rows, recall)
    return out


def _region(world: _World) -> Dict[str, float]:
    """``region/``: a random thing per region; top-1 and every class's accuracy are 1 / K."""
    held = []
    for record in world.records:
        for region in record.get('regions', []):
            label = next((t for t in region['tags'] if t in world.vocabulary), None)
            if label in world.things:
                held.append(world.held_out[label])
    out, held = {}, np.array(held, dtype=bool)
    for suffix, rows in _subsets(held, world.has_split).items():
        for key in ('top1', 'mean_acc'):
            _put(out, f'region/{key}{suffix}', rows, np.full(len(rows), 1 / len(world.things)))
    return out


def _miou(prefix: str, classes: Sequence[str], pixels: np.ndarray,
          held_out: Dict[str, bool], split_keys: bool) -> Dict[str, float]:
    iou = random_label_iou(pixels)
    held = np.array([held_out.get(n, False) for n in classes], dtype=bool)
    out = {}
    for suffix, subset in _subsets(held, split_keys).items():
        if subset.any():
            out[f'{prefix}mIoU{suffix}'] = float(iou[subset].mean() * 100)
    return out


def _dense(world: _World) -> Dict[str, float]:
    """``dense/``: ground truth from the UMG segments (first tag in the vocabulary)."""
    pixels = np.zeros(len(world.vocabulary), dtype=np.int64)
    index = {name: i for i, name in enumerate(world.vocabulary)}
    for record in world.records:
        for segment in record.get('segments', []):
            label = next((index[t] for t in segment['tags'] if t in index), None)
            if label is not None:
                pixels[label] += int(mask_utils.area(segment['segmentation']))
    return _miou('dense/', world.vocabulary, pixels, world.held_out, world.has_split)


def _semantic(world: _World) -> Dict[str, float]:
    """Semantic (no prefix, ``OpenVocabIoUMetric``) and ``panoptic_semseg/`` mIoU: ground truth
    from the split's ``seg_maps`` (the panoptic segments give the same label map)."""
    classes = world.seg_classes
    pixels = np.zeros(len(classes), dtype=np.int64)
    for record in world.records:
        stem = osp.splitext(record['image']['file_name'])[0]
        path = world.path('seg_maps', world.split, f'{stem}.png')
        labels = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if labels is None:
            raise FileNotFoundError(f'cannot read the label map {path}')
        labels = labels[labels != IGNORE_INDEX].astype(np.int64)
        if len(labels) and labels.max() >= len(classes):
            raise ValueError(f'{path}: label {labels.max()} but the split has {len(classes)} '
                             f'segmentation classes')
        pixels += np.bincount(labels, minlength=len(classes))
    out = _miou('', classes, pixels, world.held_out, split_keys=True)  # always split
    out.update(_miou('panoptic_semseg/', classes, pixels, world.held_out, split_keys=False))
    return out


def _panoptic(world: _World) -> Dict[str, float]:
    """``coco_panoptic/``: 0 (see the module docstring: no segment can reach IoU 0.5)."""
    num_classes = len(world.seg_classes)
    if not 1 / num_classes < 0.5:
        raise ValueError(f'{num_classes} classes: random labels could match segments; the '
                         f'panoptic chance level is not 0')
    groups = ['', '_th', '_st', '_seen']  # OpenVocabPanopticMetric always splits
    if any(world.held_out.get(n, False) for n in world.seg_classes):
        groups.append('_held_out')
    return {f'coco_panoptic/{m}{g}': 0.0 for g in groups for m in ('PQ', 'SQ', 'RQ')}


def chance_levels(data_root: str, split: str = 'val') -> Dict[str, float]:
    """Expected value (%) of every metric of the synthetic world's evaluations for a predictor
    that ignores the image (see the module docstring), keyed as in ``metrics.json``.

    Args:
        data_root: the synthetic world (``tools/make_synthetic_data.py``).
        split: ``'val'``, ``'dev'`` or ``'train'``.

    Returns:
        ``{'zero_shot_cls/top1': 10.0, 'zero_shot_cls/mAP': ..., 'retrieval/i2t_R@1': ...,
        'region/top1': ..., 'dense/mIoU': ..., 'mIoU': ..., 'coco_panoptic/PQ': 0.0, ...}``.
    """
    world = _World(data_root, split)
    out = {}
    for part in (_classification, _retrieval, _region, _dense, _semantic, _panoptic):
        out.update(part(world))
    return out
