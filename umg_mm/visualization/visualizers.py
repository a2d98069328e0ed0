"""mmdet's and mmseg's local visualisers drawing through umg_mm's picture path
(:mod:`umg_mm.visualization.picture`): class names in any script, small images enlarged, a
legend when labels collide; ground truth beside prediction, titled.

The shipped configs name them (``visualizer = dict(type='UMGDetLocalVisualizer')`` /
``'UMGSegLocalVisualizer'``), so ``tools/test.py --show-dir`` and the visualisation hooks draw
the same pictures as the inferencer and ``tools/demo.py``.
"""
from typing import Optional

import mmcv
import numpy as np
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmdet.visualization import DetLocalVisualizer
from mmseg.registry import VISUALIZERS as MMSEG_VISUALIZERS
from mmseg.visualization import SegLocalVisualizer

from .picture import draw_regions, side_by_side
from .regions import sample_regions

TITLES = dict(gt='ground truth', pred='prediction')


class _PictureMixin:
    """``add_datasample`` of a local visualiser, drawn by :func:`draw_regions`."""

    def _picture(self, image: np.ndarray, data_sample, draw_gt: bool, draw_pred: bool,
                 score_thr: float) -> np.ndarray:
        """Ground truth and/or prediction of ``data_sample`` over ``image`` (RGB), side by
        side."""
        meta = self.dataset_meta or {}
        classes, palette = meta.get('classes'), meta.get('palette')
        if classes is None:
            raise ValueError(f'{type(self).__name__} needs dataset_meta["classes"] to name the '
                             f'regions; the visualisation hook sets it from the dataset')
        pictures, titles = [], []
        sample = data_sample.cpu() if data_sample is not None else None
        for which, wanted in (('gt', draw_gt), ('pred', draw_pred)):
            regions = sample_regions(sample, which, classes, palette, score_thr) \
                if wanted and sample is not None else None
            if regions is not None:
                pictures.append(draw_regions(image, regions))
                titles.append(TITLES[which])
        if not pictures:
            return draw_regions(image, [])
        return side_by_side(pictures, titles) if len(pictures) > 1 else pictures[0]

    def _output(self, name: str, picture: np.ndarray, show: bool, wait_time: float,
                out_file: Optional[str], step: int) -> None:
        """Show, write to ``out_file`` or hand to the backends, as mmdet's and mmseg's do."""
        self.set_image(picture)
        if show:
            self.show(picture, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(picture), out_file)
        else:
            self.add_image(name, picture, step)


@MMDET_VISUALIZERS.register_module()
class UMGDetLocalVisualizer(_PictureMixin, DetLocalVisualizer):
    """mmdet's ``DetLocalVisualizer`` with umg_mm's pictures (panoptic segments, instances with
    masks or boxes)."""

    def add_datasample(self, name: str, image: np.ndarray, data_sample=None,
                       draw_gt: bool = True, draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None,
                       pred_score_thr: float = 0.3, step: int = 0) -> None:
        """Draw ``data_sample`` over ``image`` (RGB) and save it (see mmdet's)."""
        picture = self._picture(image, data_sample, draw_gt, draw_pred, pred_score_thr)
        self._output(name, picture, show, wait_time, out_file, step)


@MMSEG_VISUALIZERS.register_module()
class UMGSegLocalVisualizer(_PictureMixin, SegLocalVisualizer):
    """mmseg's ``SegLocalVisualizer`` with umg_mm's pictures (label maps)."""

    def add_datasample(self, name: str, image: np.ndarray, data_sample=None,
                       draw_gt: bool = True, draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None, step: int = 0,
                       with_labels: Optional[bool] = True) -> None:
        """Draw ``data_sample`` over ``image`` (RGB) and save it (see mmseg's)."""
        picture = self._picture(image, data_sample, draw_gt, draw_pred, score_thr=0.)
        self._output(name, picture, show, wait_time, out_file, step)
