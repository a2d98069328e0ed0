"""Plain results (numpy arrays, lists, numbers) of each task, built from the models' data samples.

Every function returns a dict whose values are lists, numbers and strings, except the dense maps
(``sem_seg``, ``panoptic_seg``: ``(H, W)`` int64 arrays at the input image's size);
:func:`json_ready` drops those for a JSON file.
"""
from typing import List, Sequence

import numpy as np
import torch
from mmdet.evaluation.functional import INSTANCE_OFFSET

DENSE_KEYS = ('sem_seg', 'panoptic_seg')


def classification_result(scores: torch.Tensor, classes: Sequence[str], topk: int) -> dict:
    """Top-k classes of one image.

    Args:
        scores: ``(K,)`` cosine similarities of the image with the class embeddings.
        classes: the ``K`` class names.
        topk: how many classes to list (at most ``K``).

    Returns:
        ``labels``, ``names``, ``scores`` of the top ``topk`` classes, best first, and
        ``class_scores``: all ``K`` scores in label order.
    """
    top = torch.topk(scores.float().cpu(), min(topk, len(classes)))
    labels = top.indices.tolist()
    return dict(labels=labels, names=[classes[i] for i in labels], scores=top.values.tolist(),
                class_scores=scores.float().cpu().tolist())


def retrieval_result(scores: torch.Tensor, texts: Sequence[str]) -> dict:
    """Similarity of one image with each text: ``scores`` ``(T,)`` and the ``best`` text's index."""
    scores = scores.float().cpu()
    return dict(texts=list(texts), scores=scores.tolist(), best=int(scores.argmax()))


def region_result(boxes: torch.Tensor, scores: torch.Tensor, classes: Sequence[str]) -> dict:
    """The class of each given box.

    Args:
        boxes: ``(R, 4)`` boxes ``x1, y1, x2, y2`` in input image pixels.
        scores: ``(R, K)`` cosine similarities of the pooled region embeddings with the classes.
        classes: the ``K`` class names.

    Returns:
        ``boxes``, per box ``labels``, ``names`` and ``scores`` of the best class, and
        ``class_scores`` ``(R, K)``.
    """
    scores = scores.float().cpu()
    best, labels = scores.max(dim=1) if len(scores) else (scores.new_zeros(0),
                                                         scores.new_zeros(0, dtype=torch.long))
    return dict(boxes=boxes.float().cpu().tolist(), labels=labels.tolist(),
                names=[classes[i] for i in labels.tolist()], scores=best.tolist(),
                class_scores=scores.tolist())


def semantic_result(label_map: torch.Tensor, classes: Sequence[str]) -> dict:
    """The label map ``sem_seg`` ``(H, W)`` and the ``classes`` present (label, name, area)."""
    label_map = label_map.reshape(label_map.shape[-2:]).cpu().numpy().astype(np.int64)
    labels, areas = np.unique(label_map, return_counts=True)
    present = [dict(label=int(label), name=classes[label], area=int(area))
               for label, area in zip(labels, areas) if 0 <= label < len(classes)]
    return dict(sem_seg=label_map, classes=present)


def panoptic_result(id_map: torch.Tensor, classes: Sequence[str], num_things: int) -> dict:
    """The panoptic id map and its segments.

    Args:
        id_map: ``(1, H, W)`` or ``(H, W)`` ids as mmdet's fusion head writes them: ``label +
            instance * INSTANCE_OFFSET`` for things, ``label`` for stuff, ``len(classes)`` void.
        classes: the class names, things first.
        num_things: how many of ``classes`` are things.

    Returns:
        ``panoptic_seg`` ``(H, W)`` int64 ids and ``segments``: per segment ``id``, ``label``,
        ``name``, ``isthing``, ``area`` (pixels), void left out.
    """
    id_map = id_map.reshape(id_map.shape[-2:]).cpu().numpy().astype(np.int64)
    ids, areas = np.unique(id_map, return_counts=True)
    segments = []
    for segment_id, area in zip(ids.tolist(), areas.tolist()):
        label = segment_id % INSTANCE_OFFSET
        if label >= len(classes):
            continue  # void
        segments.append(dict(id=segment_id, label=label, name=classes[label],
                             isthing=label < num_things, area=area))
    return dict(panoptic_seg=id_map, segments=segments)


def json_ready(predictions: List[dict]) -> List[dict]:
    """The predictions without their dense maps (which belong in pictures or arrays, not JSON)."""
    return [{k: v for k, v in p.items() if k not in DENSE_KEYS} for p in predictions]
