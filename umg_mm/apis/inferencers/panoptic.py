"""Open-vocabulary panoptic segmentation on mmdet's ``DetInferencer``."""
from typing import List, Optional, Tuple

import numpy as np
from mmdet.apis import DetInferencer

from umg_mm.structures.vocabulary import Vocabulary
from .. import results as R
from ..inference_vocabulary import apply_vocabulary, model_vocabulary, split_things_stuff
from .base import UMGInferencerMixin


class UMGPanopticInferencer(UMGInferencerMixin, DetInferencer):
    """mmdet's inferencer for an ``OpenVocabMask2Former``: things and stuff are a vocabulary,
    chosen per call.

    Differences from ``DetInferencer``: ``vocabulary`` and ``stuff`` (at build and per call);
    images read by :func:`~umg_mm.apis.image_inputs.load_image`; ``predictions`` are
    :func:`~umg_mm.apis.results.panoptic_result` dicts; pictures through the config's
    ``UMGDetLocalVisualizer`` are RGB, written as ``<out_dir>/vis/<stem>.png``; the result has
    ``classes`` (things, then stuff) and ``pictures`` (files written).

    The vocabulary of a call:

    - ``vocabulary=None, stuff=None``: :attr:`default_vocabulary` (the one given at build, else
      the config's things and stuff);
    - ``vocabulary=dict(thing_classes=..., stuff_classes=...)``: those;
    - ``vocabulary=[...]`` (or a file or a benchmark name) and ``stuff``: the classes of
      ``vocabulary`` that ``stuff`` names are stuff, the others things;
    - ``vocabulary=[...]`` without ``stuff``: every class is a thing: there are **no stuff
      classes** (no list of stuff names is guessed);
    - ``vocabulary=None`` with ``stuff``: the default vocabulary's classes, split by ``stuff``.

    Args:
        model: a config file, ``Config`` or dict.
        weights: the checkpoint; ``None`` keeps the weights the config builds (a warning).
        vocabulary: the default vocabulary (as per call); ``None``: the config's.
        stuff: its stuff classes (as per call).
        device: ``'cpu'``, ``'cuda'``, ... (``None``: the first available).
        scope: the registry scope (default ``'mmdet'``).
        palette: mmdet's argument (unused: umg_mm's pictures colour by class).
        show_progress: show a progress bar over the batches.
    """
    tasks = ('panoptic', )

    def __init__(self,
                 model,
                 weights: Optional[str] = None,
                 vocabulary=None,
                 stuff=None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmdet',
                 palette: str = 'none',
                 show_progress: bool = False) -> None:
        super().__init__(self._checked_config(model, weights), weights, device=device,
                         scope=scope, palette=palette, show_progress=show_progress)
        self._init_umg(vocabulary, stuff)

    def _model_default(self) -> Tuple[Vocabulary, Vocabulary]:
        """The model's ``(things, stuff)`` now, kept as :attr:`default_vocabulary`."""
        vocabulary = model_vocabulary(self.model)
        return vocabulary.things, vocabulary.stuff

    def _use_vocabulary(self, vocabulary, stuff=None) -> List[str]:
        """Things and stuff of a call (see the class docstring); returns the class names."""
        things, stuff = split_things_stuff(vocabulary, stuff, self.default_vocabulary)
        return self._set_classes(apply_vocabulary(self.model, things, stuff))

    def __call__(self,
                 inputs,
                 batch_size: int = 1,
                 return_vis: bool = False,
                 show: bool = False,
                 wait_time: int = 0,
                 no_save_vis: bool = False,
                 draw_pred: bool = True,
                 pred_score_thr: float = 0.3,
                 return_datasamples: bool = False,
                 print_result: bool = False,
                 no_save_pred: bool = True,
                 out_dir: str = '',
                 vocabulary=None,
                 stuff=None,
                 **kwargs) -> dict:
        """Segment images over ``vocabulary`` and ``stuff`` (see the class docstring); the
        other arguments are ``DetInferencer``'s (its ``texts``, ``stuff_texts`` and grounding
        arguments are for mmdet's text-prompted models: use ``vocabulary`` and ``stuff``)."""
        self._start_call(vocabulary, stuff)
        return self._finish_call(super().__call__(
            inputs, batch_size=batch_size, return_vis=return_vis, show=show,
            wait_time=wait_time, no_save_vis=no_save_vis, draw_pred=draw_pred,
            pred_score_thr=pred_score_thr, return_datasamples=return_datasamples,
            print_result=print_result, no_save_pred=no_save_pred, out_dir=out_dir, **kwargs))

    def visualize(self,
                  inputs: list,
                  preds: list,
                  return_vis: bool = False,
                  show: bool = False,
                  wait_time: int = 0,
                  draw_pred: bool = True,
                  pred_score_thr: float = 0.3,
                  no_save_vis: bool = False,
                  img_out_dir: str = '',
                  **kwargs) -> Optional[List[np.ndarray]]:
        """RGB pictures of the segments (names in any script), written to
        ``<img_out_dir>/vis/``."""
        out_dir = '' if no_save_vis or not img_out_dir else f'{img_out_dir}/{self.picture_subdir}'
        if not show and not out_dir and not return_vis:
            return None
        draw = self._draw_with_visualizer(show, wait_time, draw_pred=draw_pred,
                                          pred_score_thr=pred_score_thr)
        return self._draw_all(inputs, preds, draw, out_dir, return_vis)

    def postprocess(self,
                    preds: list,
                    visualization: Optional[List[np.ndarray]] = None,
                    return_datasamples: bool = False,
                    print_result: bool = False,
                    no_save_pred: bool = False,
                    pred_out_dir: str = '',
                    **kwargs) -> dict:
        """``predictions``: per image :meth:`pred2dict` (the ``DetDataSample`` with
        ``return_datasamples``), written to ``<pred_out_dir>/preds/`` unless
        ``no_save_pred``; ``visualization``: the pictures."""
        out_dir = '' if no_save_pred or not pred_out_dir else f'{pred_out_dir}/preds'
        out = self._results(preds, visualization, return_datasamples, out_dir)
        if print_result:
            print(out['predictions'])
        return out

    def pred2dict(self, data_sample, pred_out_dir: str = '') -> dict:
        """``panoptic_seg`` ``(H, W)`` ids and its ``segments``."""
        return R.panoptic_result(data_sample.pred_panoptic_seg.sem_seg, self.classes,
                                 self.model.num_things_classes)
