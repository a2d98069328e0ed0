"""The UMG-CLIP pretrainer's own zero-shot outputs (classification, retrieval, region,
training-free semantic segmentation) on mmengine's ``BaseInferencer``."""
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.infer import BaseInferencer
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from .. import results as R
from ..inference_vocabulary import apply_vocabulary
from ..tasks import check_task
from .base import UMGInferencerMixin


class UMGCLIPInferencer(UMGInferencerMixin, BaseInferencer):
    """mmengine's inferencer for a ``UMGCLIPPretrainer``: one of four tasks per call.

    ==================  =================================  ===================================
    task                needs                              prediction (:mod:`..results`)
    ==================  =================================  ===================================
    ``classification``  ``vocabulary``                     top-``topk`` classes of the image
    ``retrieval``       ``texts``                          the image's similarity to each text
    ``region``          ``vocabulary``, ``boxes``          the class of each given box
    ``semantic``        ``vocabulary``                     the dense zero-shot label map
    ==================  =================================  ===================================

    The data samples: the model's (classification; retrieval with ``pred_text_scores``
    ``(T,)``), a ``DetDataSample`` with ``pred_instances`` (region), a ``SegDataSample`` with
    ``pred_sem_seg`` at the input's size (semantic). Pictures (RGB, ``<out_dir>/vis/<stem>.png``)
    by :func:`~umg_mm.apis.visualization.draw_prediction`.

    Args:
        model: a config file, ``Config`` or dict.
        weights: the checkpoint; ``None`` keeps the weights the config builds (a warning).
        vocabulary: the classes of a call that names none; ``None``: the config's
            ``test_cfg.vocabulary``.
        device: ``'cpu'``, ``'cuda'``, ... (``None``: the first available).
        scope: the registry scope (default: the config's ``default_scope``, else mmengine's).
        show_progress: show a progress bar over the batches.
    """
    tasks = ('classification', 'retrieval', 'region', 'semantic')
    preprocess_kwargs = {'boxes'}
    visualize_kwargs = {'return_vis', 'show', 'wait_time', 'img_out_dir'}
    postprocess_kwargs = {'pred_out_dir', 'topk'}

    def __init__(self,
                 model,
                 weights: Optional[str] = None,
                 vocabulary=None,
                 device: Optional[str] = None,
                 scope: Optional[str] = None,
                 show_progress: bool = False) -> None:
        cfg = self._checked_config(model, weights)
        scope = scope or cfg.get('default_scope') or 'mmengine'
        init_default_scope(scope)
        super().__init__(cfg, weights, device=device, scope=scope, show_progress=show_progress)
        self.task = self.tasks[0]
        self._text_embeddings = None
        self.default_templates = self.model.test_cfg.get('templates')
        self._init_umg(vocabulary)

    def _use_vocabulary(self, vocabulary, stuff=None) -> List[str]:
        """The call's vocabulary; for retrieval none (the classes are the texts)."""
        if self.task != 'retrieval':
            return super()._use_vocabulary(vocabulary, stuff)
        apply_vocabulary(self.model, None)
        self.classes = list(self._texts)
        return self.classes

    def _init_visualizer(self, cfg):
        """Pictures are drawn by :func:`~umg_mm.apis.visualization.draw_prediction`."""
        return None

    def __call__(self,
                 inputs,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 task: Optional[str] = None,
                 vocabulary=None,
                 texts: Optional[Sequence[str]] = None,
                 boxes=None,
                 templates=None,
                 out_dir: str = '',
                 **kwargs) -> dict:
        """Predict ``task`` (``None``: classification) on images.

        Args:
            inputs: an image path, a folder, an ``(H, W, 3)`` BGR array, or a list of them.
            return_datasamples: ``predictions`` are the data samples, not plain dicts.
            batch_size: images per forward pass.
            task: see the class docstring.
            vocabulary: the classes (``None``: :attr:`default_vocabulary`); not for retrieval.
            texts: retrieval only: the texts to score each image against.
            boxes: region only: per image an ``(R, 4)`` array of ``x1, y1, x2, y2`` in input
                pixels (one array for a single image).
            templates: prompt templates (set name, file or list); default: the config's.
            out_dir: pictures go to ``<out_dir>/vis``, plain results to ``<out_dir>/pred``.
            **kwargs: ``return_vis``, ``show``, ``wait_time`` (pictures), ``topk``
                (classification: classes listed, default 5).

        Returns:
            dict with ``predictions``, ``visualization`` (RGB), ``classes`` (the texts for
            retrieval), ``pictures`` (files written) and, for retrieval, ``similarity``: the
            ``(N, T)`` image-text matrix.
        """
        self.task = check_task(type(self.model).__name__, self.tasks, task)
        count = len(self._inputs_to_list(inputs))
        boxes = _region_boxes(boxes, count) if self.task == 'region' else \
            _refuse(boxes, 'boxes', self.task, 'region')
        texts = _retrieval_texts(texts) if self.task == 'retrieval' else \
            _refuse(texts, 'texts', self.task, 'retrieval')
        if batch_size < 1:
            raise ValueError(f'batch_size={batch_size}; give 1 or more')
        if self.task == 'retrieval' and vocabulary is not None:
            raise ValueError('task="retrieval" scores the given texts=[...], not a vocabulary; '
                             'leave vocabulary out')
        self.model.test_cfg['templates'] = self.default_templates if templates is None \
            else templates
        if self.task == 'retrieval':
            with torch.no_grad():
                self._text_embeddings = self.model.text_encoder.encode_text(texts,
                                                                            normalize=True)
            self._texts = texts
        self._start_call(vocabulary)
        kwargs.setdefault('img_out_dir', f'{out_dir}/vis' if out_dir else '')
        kwargs.setdefault('pred_out_dir', f'{out_dir}/pred' if out_dir else '')
        return self._finish_call(super().__call__(
            inputs, return_datasamples=return_datasamples, batch_size=batch_size,
            boxes=boxes, **kwargs))

    def preprocess(self, inputs: list, batch_size: int = 1, boxes=None):
        """Batches of the test pipeline's outputs; for the region task each image's boxes,
        rescaled as the pipeline resized the image, as ``gt_instances.bboxes``."""
        def prepare(index_image):
            index, image = index_image
            data = self.pipeline(image)
            if boxes is not None:
                scale_w, scale_h = data['data_samples'].metainfo.get('scale_factor', (1., 1.))
                scale = torch.tensor([scale_w, scale_h, scale_w, scale_h], dtype=torch.float32)
                data['data_samples'].gt_instances = InstanceData(
                    bboxes=torch.from_numpy(boxes[index]) * scale)
                data['data_samples'].set_metainfo(dict(input_boxes=boxes[index]))
            return data

        chunks = self._get_chunk_data(map(prepare, enumerate(inputs)), batch_size)
        yield from map(self.collate_fn, chunks)

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> list:
        """The model's data samples, made the task's (see the class docstring)."""
        return [self._task_sample(sample) for sample in self.model.test_step(inputs)]

    def _task_sample(self, sample):
        if self.task == 'retrieval':
            sample.pred_text_scores = sample.img_embedding @ self._text_embeddings.T
        elif self.task == 'region':
            boxes = torch.from_numpy(sample.metainfo['input_boxes'])
            scores, labels = _best(sample.pred_region_scores)
            region = DetDataSample(metainfo=sample.metainfo)
            region.pred_instances = InstanceData(bboxes=boxes, labels=labels, scores=scores)
            region.pred_region_scores = sample.pred_region_scores
            return region
        elif self.task == 'semantic':
            return _semantic_sample(sample)
        return sample

    def visualize(self,
                  inputs: list,
                  preds: list,
                  return_vis: bool = False,
                  show: bool = False,
                  wait_time: int = 0,
                  img_out_dir: str = '') -> Optional[List[np.ndarray]]:
        """RGB pictures: boxes or masks with class names, or the best classes or texts with
        their scores beside the image (``show`` and ``wait_time`` unused)."""
        if not img_out_dir and not return_vis:
            return None
        preds = [(pred, self.pred2dict(pred), self.classes) for pred in preds]
        return self._draw_all(inputs, preds, self._draw_prediction(self.task), img_out_dir,
                              return_vis)

    def postprocess(self,
                    preds: list,
                    visualization: Optional[List[np.ndarray]],
                    return_datasamples: bool = False,
                    pred_out_dir: str = '',
                    topk: int = 5) -> dict:
        """``predictions``: per image :meth:`pred2dict` (the data sample with
        ``return_datasamples``); ``visualization``: the pictures; ``similarity`` (retrieval)."""
        out = self._results(preds, visualization, return_datasamples, pred_out_dir, topk=topk)
        if self.task == 'retrieval':
            out['similarity'] = np.array([p.pred_text_scores.float().cpu().numpy()
                                          for p in preds], dtype=np.float32).reshape(
                                              len(preds), len(self.classes))
        return out

    def pred2dict(self, data_sample, topk: int = 5) -> dict:
        """The plain result of one data sample of the current task (:mod:`..results`)."""
        if self.task == 'classification':
            return R.classification_result(data_sample.pred_img_scores, self.classes, topk)
        if self.task == 'retrieval':
            return R.retrieval_result(data_sample.pred_text_scores, self.classes)
        if self.task == 'region':
            return R.region_result(data_sample.pred_instances.bboxes,
                                   data_sample.pred_region_scores, self.classes)
        return R.semantic_result(data_sample.pred_sem_seg.data, self.classes)


def _best(scores: torch.Tensor):
    """``(R,)`` best scores and labels of ``(R, K)`` region scores."""
    if len(scores):
        return scores.max(dim=1)
    return scores.new_zeros(0), scores.new_zeros(0, dtype=torch.long)


def _semantic_sample(output) -> SegDataSample:
    """A ``SegDataSample`` of the pretrainer's dense zero-shot label map, at the input size."""
    label_map = output.pred_sem_seg.data  # (1, h, w) at the resized image's size
    height, width = output.metainfo['ori_shape'][:2]
    label_map = F.interpolate(label_map[None].float(), size=(height, width),
                              mode='nearest')[0].long()
    sample = SegDataSample(metainfo=output.metainfo)
    sample.pred_sem_seg = PixelData(data=label_map)
    return sample


def _refuse(value, name: str, task: str, owner: str):
    if value is not None:
        raise ValueError(f'{name}=... is for task={owner!r}; task={task!r} does not use it')
    return None


def _retrieval_texts(texts) -> List[str]:
    if isinstance(texts, str):
        texts = [texts]
    if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
        raise ValueError(f'task="retrieval" needs texts=[...], non-empty strings; got {texts!r}')
    return list(texts)


def _region_boxes(boxes, count: int) -> List[np.ndarray]:
    """Per image an ``(R, 4)`` float32 array of boxes."""
    if boxes is None:
        raise ValueError('task="region" needs boxes=...: per image an (R, 4) array of x1, y1, '
                         'x2, y2 in pixels')
    if count == 1 and _is_box_array(boxes):
        boxes = [boxes]
    if len(boxes) != count:
        raise ValueError(f'boxes has {len(boxes)} entries for {count} images; give one (R, 4) '
                         f'array per image')
    arrays = []
    for i, image_boxes in enumerate(boxes):
        array = np.asarray(image_boxes, dtype=np.float32)
        if array.size == 0:
            array = array.reshape(0, 4)
        if array.ndim != 2 or array.shape[1] != 4:
            raise ValueError(f'boxes of image {i} have shape {array.shape}; give (R, 4): x1, y1, '
                             f'x2, y2 in pixels')
        if (array[:, 2] <= array[:, 0]).any() or (array[:, 3] <= array[:, 1]).any():
            raise ValueError(f'boxes of image {i} have x2 <= x1 or y2 <= y1: {array.tolist()}; '
                             f'boxes are x1, y1, x2, y2 corners')
        arrays.append(array)
    return arrays


def _is_box_array(boxes) -> bool:
    """Whether ``boxes`` is one ``(R, 4)`` array (not a list of them)."""
    try:
        return np.asarray(boxes, dtype=np.float32).ndim == 2
    except ValueError:
        return False
