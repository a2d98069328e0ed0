"""Pictures of the inferencer's predictions, drawn by umg_mm's one picture path
(:mod:`umg_mm.visualization`): the inferencer, ``tools/demo.py`` and the web demo share it."""
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import mmcv
import numpy as np

from umg_mm.utils.atomic_io import write_bytes_atomic
from umg_mm.visualization import Region, draw_regions, sample_regions, text_panel

#: tasks whose predictions are regions (masks or boxes); the others are lists of scores
REGION_TASKS = ('semantic', 'panoptic', 'region')


def prediction_regions(task: str, sample, classes: Sequence[str]) -> Optional[List[Region]]:
    """The regions of one prediction (``None`` for classification and retrieval)."""
    if task not in REGION_TASKS:
        return None
    return sample_regions(sample, 'pred', classes, score_thr=-float('inf')) or []


def draw_prediction(image: np.ndarray, task: str, sample, prediction: dict,
                    classes: Sequence[str]) -> np.ndarray:
    """The picture of one prediction.

    Args:
        image: ``(H, W, 3)`` BGR input image.
        task: the task predicted.
        sample: its data sample (semantic, panoptic, region).
        prediction: its plain result (classification, retrieval: the scores listed).
        classes: the class names in label order (the texts for retrieval).

    Returns:
        ``(H', W', 3)`` BGR picture: masks or boxes with class names (or a legend), or the best
        classes or texts with their scores beside the image; small images enlarged.
    """
    rgb = mmcv.bgr2rgb(image)
    regions = prediction_regions(task, sample, classes)
    if regions is not None:
        return mmcv.rgb2bgr(draw_regions(rgb, regions))
    if task == 'retrieval':
        order = np.argsort(prediction['scores'])[::-1][:5]
        names = [classes[i] for i in order]
        scores = [prediction['scores'][i] for i in order]
    else:
        names, scores = prediction['names'], prediction['scores']
    return mmcv.rgb2bgr(text_panel(rgb, [f'{n}: {s:.2f}' for n, s in zip(names, scores)]))


def write_picture(path: str, picture: np.ndarray) -> None:
    """Encode ``picture`` (BGR) by the extension of ``path`` and write it atomically."""
    ext = osp.splitext(path)[1] or '.png'
    ok, encoded = cv2.imencode(ext, picture)
    if not ok:
        raise ValueError(f'cannot encode a picture as {ext!r} for {path!r}; use .png or .jpg')
    write_bytes_atomic(path, encoded.tobytes())
