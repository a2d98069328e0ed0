"""Zero-shot image classification (``UMGCLIPZeroShot``) on mmpretrain's
``ImageClassificationInferencer``."""
from typing import List, Optional

import numpy as np
from mmengine.dataset import default_collate
from mmengine.runner.checkpoint import _load_checkpoint
from mmpretrain.apis import ImageClassificationInferencer, get_model

from .. import results as R
from .base import UMGInferencerMixin


class UMGZeroShotInferencer(UMGInferencerMixin, ImageClassificationInferencer):
    """mmpretrain's image classification inferencer for ``UMGCLIPZeroShot``: the classes are a
    vocabulary, chosen per call.

    Differences from ``ImageClassificationInferencer``: ``vocabulary`` (at build and per call)
    replaces ``classes``; the checkpoint is ``weights`` (checked to hold this model's weights);
    images read by :func:`~umg_mm.apis.image_inputs.load_image`; ``predictions`` are
    :func:`~umg_mm.apis.results.classification_result` dicts of the model's softmax scores
    (``topk`` classes listed); pictures (the best classes and scores beside the image,
    :func:`~umg_mm.apis.visualization.draw_prediction`) are RGB, written as
    ``<show_dir>/<stem>.png``, returned with ``return_vis`` or ``show_dir``; the result is a
    dict with ``predictions``, ``visualization``, ``classes`` and ``pictures``.

    Args:
        model: a config file, ``Config`` or dict (an mmpretrain config whose model is
            ``UMGCLIPZeroShot``, e.g. projects/umg_clip_zeroshot_mmpretrain/configs/).
        weights: the checkpoint; ``None`` keeps the weights the config builds (its
            ``load_from`` is not read).
        vocabulary: the classes of a call that names none; ``None``: the config's
            ``text_prototype``.
        device: ``'cpu'``, ``'cuda'``, ... (``None``: where the model is built).
    """
    tasks = ('classification', )
    picture_dir_arg = 'show_dir'
    picture_subdir = ''
    visualize_kwargs = ImageClassificationInferencer.visualize_kwargs | {'return_vis'}
    postprocess_kwargs = {'topk'}

    def __init__(self,
                 model,
                 weights: Optional[str] = None,
                 vocabulary=None,
                 device: Optional[str] = None) -> None:
        cfg = self._checked_config(model, weights)
        built = get_model(cfg, pretrained=False)
        self._load_weights_to_model(
            built, None if weights is None else _load_checkpoint(weights, map_location='cpu'),
            cfg)
        super().__init__(built, pretrained=False, device=device)
        self.visualizer = None
        self._init_umg(vocabulary)

    def __call__(self,
                 inputs,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 vocabulary=None,
                 **kwargs) -> dict:
        """Classify images over ``vocabulary`` (``None``: :attr:`default_vocabulary`); the
        other arguments are ``ImageClassificationInferencer``'s, and ``topk`` (default 5) and
        ``return_vis``."""
        self._start_call(vocabulary)
        return self._finish_call(super().__call__(
            inputs, return_datasamples=return_datasamples, batch_size=batch_size, **kwargs))

    def preprocess(self, inputs: list, batch_size: int = 1):
        """Batches of the test pipeline's outputs (images read by ``load_image``), stacked by
        mmengine's ``default_collate``."""
        yield from map(default_collate,
                       self._get_chunk_data(map(self.pipeline, inputs), batch_size))

    def visualize(self,
                  ori_inputs: list,
                  preds: list,
                  show: bool = False,
                  wait_time: int = 0,
                  resize: Optional[int] = None,
                  rescale_factor: Optional[float] = None,
                  draw_score: bool = True,
                  show_dir: Optional[str] = None,
                  return_vis: bool = False) -> Optional[List[np.ndarray]]:
        """RGB pictures of the best classes and their scores (``show``, ``wait_time``,
        ``resize``, ``rescale_factor`` and ``draw_score`` are mmpretrain's, unused: the
        picture is umg_mm's)."""
        if not show_dir and not return_vis:
            return None
        preds = [(pred, self.pred2dict(pred), self.classes) for pred in preds]
        return self._draw_all(ori_inputs, preds, self._draw_prediction('classification'),
                              show_dir or '', return_vis)

    def postprocess(self,
                    preds: list,
                    visualization: Optional[List[np.ndarray]],
                    return_datasamples: bool = False,
                    topk: int = 5) -> dict:
        """``predictions``: per image :meth:`pred2dict` (the ``DataSample`` with
        ``return_datasamples``); ``visualization``: the pictures."""
        return self._results(preds, visualization, return_datasamples, topk=topk)

    def pred2dict(self, data_sample, topk: int = 5) -> dict:
        """The ``topk`` best ``labels``, ``names`` and ``scores`` (softmax) and all
        ``class_scores``."""
        return R.classification_result(data_sample.pred_score, self.classes, topk)
