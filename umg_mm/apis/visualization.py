"""Pictures of predictions, drawn by mmdet's and mmseg's visualisers (class names on masks)."""
import os.path as osp
from typing import List, Sequence

import cv2
import mmcv
import numpy as np
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer
from mmdet.visualization.palette import get_palette
from mmengine.visualization import Visualizer
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

from umg_mm.utils.atomic_io import write_bytes_atomic


def class_palette(num_classes: int) -> List[tuple]:
    """One colour per class (mmdet's seeded random palette: the same on every run)."""
    return [tuple(int(c) for c in color) for color in get_palette('random', num_classes)]


def _visualizer(kind, name: str):
    """The named visualiser instance of ``kind`` (created once; mmengine keeps them by name)."""
    return kind.get_instance(f'umg_mm_inferencer_{name}')


def draw_semantic(image: np.ndarray, sample: SegDataSample, classes: Sequence[str]) -> np.ndarray:
    """Label map over the image, class names on the regions (mmseg's ``SegLocalVisualizer``).

    Args:
        image: ``(H, W, 3)`` BGR input image.
        sample: with ``pred_sem_seg`` ``(1, H, W)``.
        classes: the class names in label order.

    Returns:
        ``(H, W, 3)`` BGR picture.
    """
    visualizer = _visualizer(SegLocalVisualizer, 'semantic')
    visualizer.set_dataset_meta(classes=list(classes), palette=class_palette(len(classes)))
    visualizer.add_datasample('prediction', mmcv.bgr2rgb(image), sample, draw_gt=False,
                              with_labels=True)
    return mmcv.rgb2bgr(visualizer.get_image())


def draw_detection(image: np.ndarray, sample: DetDataSample, classes: Sequence[str]) -> np.ndarray:
    """Panoptic segments or boxes with class names (mmdet's ``DetLocalVisualizer``).

    Args:
        image: ``(H, W, 3)`` BGR input image.
        sample: with ``pred_panoptic_seg`` (ids, void ``len(classes)``) or ``pred_instances``
            (``bboxes``, ``labels``, ``scores``).
        classes: the class names in label order.

    Returns:
        ``(H, W, 3)`` BGR picture.
    """
    visualizer = _visualizer(DetLocalVisualizer, 'detection')
    visualizer.dataset_meta = dict(classes=list(classes), palette=class_palette(len(classes)))
    visualizer.add_datasample('prediction', mmcv.bgr2rgb(image), sample, draw_gt=False,
                              pred_score_thr=-float('inf'))
    return mmcv.rgb2bgr(visualizer.get_image())


def draw_text_lines(image: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """Lines of text (class or caption, score) in the top-left corner (mmengine's Visualizer).

    Returns:
        ``(H, W, 3)`` BGR picture.
    """
    visualizer = _visualizer(Visualizer, 'text')
    visualizer.set_image(mmcv.bgr2rgb(image))
    height = image.shape[0]
    font_size = max(6, min(14, height // (2 * max(len(lines), 1) + 2)))
    visualizer.draw_texts('\n'.join(lines), np.array([2, 2]), font_sizes=font_size,
                          colors='white', vertical_alignments='top',
                          bboxes=[dict(facecolor='black', alpha=0.6, pad=0.5,
                                       edgecolor='none')])
    return mmcv.rgb2bgr(visualizer.get_image())


def write_picture(path: str, picture: np.ndarray) -> None:
    """Encode ``picture`` (BGR) by the extension of ``path`` and write it atomically."""
    ext = osp.splitext(path)[1] or '.png'
    ok, encoded = cv2.imencode(ext, picture)
    if not ok:
        raise ValueError(f'cannot encode a picture as {ext!r} for {path!r}; use .png or .jpg')
    write_bytes_atomic(path, encoded.tobytes())
