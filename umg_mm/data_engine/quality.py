"""How good pseudo-annotations are, against ground-truth records of the same images: box
precision and recall (IoU >= 0.5, same class), panoptic quality of the masks, image-tag
precision and recall; each over all classes and over the seen and held-out ones apart.

A region's or segment's class is its first tag (what the detector or segmenter named), as in
the ground truth of the synthetic world (docs/synthetic_world.md).
"""
import os.path as osp
from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
import pycocotools.mask as mask_utils


def _stem(record: dict) -> str:
    return osp.splitext(osp.basename(record['image']['file_name']))[0]


def pair_records(predictions: Iterable[dict], truths: Iterable[dict]) -> List[tuple]:
    """``(prediction, truth)`` of every predicted image (matched by file stem).

    Raises:
        KeyError: a predicted image has no ground truth (the error names it).
    """
    by_stem = {_stem(r): r for r in truths}
    pairs = []
    for record in predictions:
        stem = _stem(record)
        if stem not in by_stem:
            raise KeyError(f'pseudo-annotated image {record["image"]["file_name"]!r} has no '
                           f'ground-truth record (matched by file stem {stem!r})')
        pairs.append((record, by_stem[stem]))
    return pairs


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` IoU of ``x1, y1, x2, y2`` boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None] - inter)


def _counter():
    return defaultdict(lambda: np.zeros(3))  # class -> (tp, fp, fn)


def box_counts(pairs: Sequence[tuple], iou_thr: float = 0.5) -> Dict[str, np.ndarray]:
    """Per class ``(tp, fp, fn)`` of predicted regions: greedy matching, best score first, to an
    unmatched ground-truth box of the same class with IoU >= ``iou_thr``."""
    counts = _counter()
    for pred, truth in pairs:
        gts = [(r['tags'][0], r['bbox']) for r in truth.get('regions', []) if r.get('tags')]
        dets = sorted(((r['tags'][0], r['bbox'], r.get('extra', {}).get('score') or 0.)
                       for r in pred.get('regions', []) if r.get('tags')), key=lambda d: -d[2])
        used = [False] * len(gts)
        if dets and gts:
            iou = _box_iou(np.array([d[1] for d in dets], float), np.array([g[1] for g in gts],
                                                                          float))
        for i, (name, _, _) in enumerate(dets):
            best, match = iou_thr, None
            for j, (gt_name, _) in enumerate(gts):
                if not used[j] and gt_name == name and iou[i, j] >= best:
                    best, match = iou[i, j], j
            if match is None:
                counts[name][1] += 1
            else:
                used[match] = True
                counts[name][0] += 1
        for (gt_name, _), hit in zip(gts, used):
            if not hit:
                counts[gt_name][2] += 1
    return counts


def tag_counts(pairs: Sequence[tuple]) -> Dict[str, np.ndarray]:
    """Per class ``(tp, fp, fn)`` of image tags against the ground-truth tags."""
    counts = _counter()
    for pred, truth in pairs:
        predicted, present = set(pred.get('tags', [])), set(truth.get('tags', []))
        for name in predicted | present:
            counts[name] += (name in predicted and name in present, name in predicted and
                             name not in present, name in present and name not in predicted)
    return counts


def _decode(segments: Sequence[dict]) -> List[tuple]:
    out = []
    for seg in segments:
        if seg.get('tags'):
            rle = seg['segmentation']
            if isinstance(rle.get('counts'), list):
                rle = mask_utils.frPyObjects(rle, *rle['size'])
            out.append((seg['tags'][0], mask_utils.decode(rle).astype(bool), seg['isthing']))
    return out


def panoptic_counts(pairs: Sequence[tuple]) -> Dict[str, np.ndarray]:
    """Per class ``(sum of matched IoU, tp, fp, fn)``: a predicted and a ground-truth segment of
    the same class match when their IoU exceeds 0.5 (unique, as in PQ)."""
    counts = defaultdict(lambda: np.zeros(4))
    for pred, truth in pairs:
        preds, gts = _decode(pred.get('segments', [])), _decode(truth.get('segments', []))
        matched_gt = set()
        for name, mask, _ in preds:
            hit = None
            for j, (gt_name, gt_mask, _) in enumerate(gts):
                if j in matched_gt or gt_name != name:
                    continue
                union = np.logical_or(mask, gt_mask).sum()
                iou = np.logical_and(mask, gt_mask).sum() / union if union else 0.
                if iou > 0.5:
                    hit = (j, iou)
                    break
            if hit is None:
                counts[name][2] += 1
            else:
                matched_gt.add(hit[0])
                counts[name][0] += hit[1]
                counts[name][1] += 1
        for j, (gt_name, _, _) in enumerate(gts):
            if j not in matched_gt:
                counts[gt_name][3] += 1
    return counts


def _split(names: Iterable[str], held_out: Sequence[str]) -> Dict[str, List[str]]:
    names = sorted(names)
    return dict(all=names, seen=[n for n in names if n not in held_out],
                held_out=[n for n in names if n in held_out])


def precision_recall(counts: Dict[str, np.ndarray], held_out: Sequence[str]) -> dict:
    """Micro precision and recall (%) over all, seen and held-out classes."""
    out = {}
    for group, names in _split(counts, held_out).items():
        tp, fp, fn = sum((counts[n] for n in names), np.zeros(3))
        out[group] = dict(precision=100 * tp / (tp + fp) if tp + fp else float('nan'),
                          recall=100 * tp / (tp + fn) if tp + fn else float('nan'),
                          tp=int(tp), fp=int(fp), fn=int(fn))
    return out


def panoptic_quality(counts: Dict[str, np.ndarray], held_out: Sequence[str],
                     things: Optional[Sequence[str]] = None) -> dict:
    """PQ (%) averaged over the classes of each group (all, seen, held-out; things and stuff
    when ``things`` is given), and per class."""
    per_class = {}
    for name, (iou, tp, fp, fn) in counts.items():
        denominator = tp + 0.5 * fp + 0.5 * fn
        per_class[name] = 100 * iou / denominator if denominator else float('nan')
    groups = _split(per_class, held_out)
    if things is not None:
        groups['things'] = [n for n in groups['all'] if n in things]
        groups['stuff'] = [n for n in groups['all'] if n not in things]
    out = {g: float(np.mean([per_class[n] for n in names])) if names else float('nan')
           for g, names in groups.items()}
    out['per_class'] = per_class
    return out


def evaluate(pairs: Sequence[tuple], held_out: Sequence[str],
             things: Optional[Sequence[str]] = None) -> dict:
    """Every quality figure of pseudo-annotations (see the module docstring)."""
    return dict(images=len(pairs), boxes=precision_recall(box_counts(pairs), held_out),
                masks=panoptic_quality(panoptic_counts(pairs), held_out, things),
                tags=precision_recall(tag_counts(pairs), held_out))
