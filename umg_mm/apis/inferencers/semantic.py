"""Open-vocabulary semantic segmentation on mmseg's ``MMSegInferencer``."""
from typing import List, Optional

import numpy as np
from mmseg.apis import MMSegInferencer

from .. import results as R
from .base import UMGInferencerMixin


class UMGSegInferencer(UMGInferencerMixin, MMSegInferencer):
    """mmseg's inferencer for an ``OpenVocabEncoderDecoder``: the classes are a vocabulary,
    chosen per call.

    Differences from ``MMSegInferencer``: ``vocabulary`` (at build and per call); images read
    by :func:`~umg_mm.apis.image_inputs.load_image` (paths, folders, BGR arrays, clear errors);
    ``predictions`` are :func:`~umg_mm.apis.results.semantic_result` dicts (a list, also for
    one image); pictures through the config's ``UMGSegLocalVisualizer`` are RGB, written as
    ``<out_dir>/vis/<stem>.png``; the result has ``classes`` and ``pictures`` (files written).

    Args:
        model: a config file, ``Config`` or dict.
        weights: the checkpoint; ``None`` keeps the weights the config builds (a warning).
        vocabulary: the classes of a call that names none (anything
            :func:`~umg_mm.structures.vocabulary.load_vocabulary` reads); ``None``: the
            config's test vocabulary.
        device: ``'cpu'``, ``'cuda'``, ... (``None``: the first available).
        scope: the registry scope (default ``'mmseg'``).
        show_progress: show a progress bar over the batches.
    """
    tasks = ('semantic', )

    def __init__(self,
                 model,
                 weights: Optional[str] = None,
                 vocabulary=None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmseg',
                 show_progress: bool = False) -> None:
        super().__init__(self._checked_config(model, weights), weights, device=device,
                         scope=scope)
        self.show_progress = show_progress
        self._init_umg(vocabulary)

    def __call__(self,
                 inputs,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 return_vis: bool = False,
                 show: bool = False,
                 wait_time: int = 0,
                 out_dir: str = '',
                 img_out_dir: str = 'vis',
                 pred_out_dir: str = 'pred',
                 vocabulary=None,
                 **kwargs) -> dict:
        """Segment images over ``vocabulary`` (``None``: :attr:`default_vocabulary`); the other
        arguments are ``MMSegInferencer``'s."""
        self._start_call(vocabulary)
        return self._finish_call(super().__call__(
            inputs, return_datasamples=return_datasamples, batch_size=batch_size,
            return_vis=return_vis, show=show, wait_time=wait_time, out_dir=out_dir,
            img_out_dir=img_out_dir, pred_out_dir=pred_out_dir, **kwargs))

    def visualize(self,
                  inputs: list,
                  preds: list,
                  return_vis: bool = False,
                  show: bool = False,
                  wait_time: int = 0,
                  img_out_dir: str = '',
                  opacity: float = 0.8,
                  with_labels: Optional[bool] = True) -> Optional[List[np.ndarray]]:
        """RGB pictures of the label maps (names in any script; ``opacity`` is the visualiser's
        ``alpha``)."""
        if not show and not img_out_dir and not return_vis:
            return None
        draw = self._draw_with_visualizer(show, wait_time, with_labels=with_labels)
        self.visualizer.alpha = opacity
        return self._draw_all(inputs, preds, draw, img_out_dir, return_vis)

    def postprocess(self,
                    preds: list,
                    visualization: Optional[List[np.ndarray]],
                    return_datasample: bool = False,
                    pred_out_dir: str = '') -> dict:
        """``predictions``: per image :meth:`pred2dict` (the ``SegDataSample`` with
        ``return_datasample``); ``visualization``: the pictures."""
        return self._results(preds, visualization, return_datasample, pred_out_dir)

    def pred2dict(self, data_sample) -> dict:
        """``sem_seg`` ``(H, W)`` at the input's size and the ``classes`` present."""
        return R.semantic_result(data_sample.pred_sem_seg.data, self.classes)
