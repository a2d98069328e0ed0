"""The umg_mm inferencer: one image (or many) in, open-vocabulary predictions out."""
import copy
import os.path as osp
import re
import sys
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose
from mmengine.infer import BaseInferencer
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.structures import InstanceData, PixelData
from mmengine.utils import ProgressBar
from mmseg.structures import SegDataSample

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary
from umg_mm.models.pretrainers import UMGCLIPPretrainer
from umg_mm.models.segmentors import OpenVocabEncoderDecoder
from . import results as R
from .image_inputs import ImageInput, input_names, inputs_to_list, load_image
from .inference_vocabulary import resolve_vocabulary, split_things_stuff
from .tasks import check_task, supported_tasks
from .visualization import draw_prediction, write_picture

#: transforms of a test pipeline that read files (the inferencer reads the image itself and has
#: no annotations)
LOADING_TRANSFORMS = ('LoadImageFromFile', 'LoadUMGImage', 'InferencerLoader',
                      'LoadImageFromNDArray', 'LoadAnnotations', 'LoadPanopticAnnotations',
                      'LoadUMGAnnotations')
#: stuff classes of the standard panoptic benchmark: stuff by default in a panoptic vocabulary
DEFAULT_STUFF_VOCABULARY = 'coco_panoptic_stuff_53'


class UMGInferencer(BaseInferencer):
    """Open-vocabulary inference with a umg_mm model from its config and checkpoint.

    The model type decides the tasks (:data:`umg_mm.apis.tasks.MODEL_TASKS`):

    ==========================  ==============================================================
    ``UMGCLIPPretrainer``       ``classification``, ``retrieval``, ``region``, ``semantic``
                                (the CLIP model's own zero-shot outputs)
    ``OpenVocabEncoderDecoder``  ``semantic`` (mmseg)
    ``OpenVocabMask2Former``    ``panoptic`` (mmdet)
    ==========================  ==============================================================

    Each call takes a vocabulary (class names, a vocabulary file or a benchmark name); the
    text embeddings of a vocabulary are computed once and cached by the text encoder, so
    repeated calls with the same vocabulary cost the image forward only. Images go through the
    config's test pipeline (its loading and annotation steps left out) and the model's data
    preprocessor, in batches of ``batch_size`` (padded to a common size, as in testing: images
    of one size give the same results batched or one by one).

    Example::

        inferencer = UMGInferencer(
            'configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py',
            'iter_1200.pth', device='cpu')
        out = inferencer('demo.jpg', task='panoptic', vocabulary=['circle', 'star', 'grass'],
                         stuff=['grass'], out_dir='vis')
        out['predictions'][0]['segments']  # [{'id', 'label', 'name', 'isthing', 'area'}, ...]

    Args:
        model: a config file, or a ``Config`` / dict.
        weights: the checkpoint (``.pth`` of ``tools/train.py``); ``None`` keeps the weights
            the config builds (random ones unless it names checkpoints), with a warning.
        device: ``'cpu'``, ``'cuda'``, ... (``None``: the first available).
        scope: the registry scope; default: the config's ``default_scope`` (mmengine's root
            for the pretraining configs).
        show_progress: show a progress bar over the images.

    Attributes:
        model: the built model, weights loaded, in eval mode.
        tasks: the tasks it supports, the default first.
    """

    def __init__(self,
                 model: Union[str, Config, dict],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = None,
                 show_progress: bool = False) -> None:
        if isinstance(model, str):
            if not osp.isfile(model):
                raise FileNotFoundError(f'config file {model!r} does not exist')
            cfg = Config.fromfile(model)
        else:
            cfg = copy.deepcopy(model if isinstance(model, (Config, ConfigDict))
                                else ConfigDict(model))
        if weights is not None and not osp.isfile(weights):
            raise FileNotFoundError(f'checkpoint file {weights!r} does not exist; give the .pth '
                                    f'that tools/train.py wrote (work_dirs/<config>/iter_N.pth)')
        scope = scope or cfg.get('default_scope') or 'mmengine'
        init_default_scope(scope)
        self._weights = weights
        super().__init__(cfg, weights, device, scope, show_progress)
        self.tasks = supported_tasks(self.model)
        self._defaults = self._model_vocabulary()

    # ------------------------------------------------------------------ set-up
    def _init_pipeline(self, cfg) -> Compose:
        """The config's test pipeline without its file-loading and annotation steps."""
        loader = cfg.get('test_dataloader') or {}
        pipeline = loader.get('dataset', {}).get('pipeline') if loader else None
        pipeline = pipeline or cfg.get('test_pipeline')
        if not pipeline:
            raise KeyError('the config has neither test_dataloader.dataset.pipeline nor '
                           'test_pipeline; the inferencer resizes and packs images with it')
        return Compose([step for step in copy.deepcopy(pipeline)
                        if step['type'].split('.')[-1] not in LOADING_TRANSFORMS])

    def _load_weights_to_model(self, model, checkpoint, cfg) -> None:
        """mmengine's loading (missing and unexpected keys are warned about), after checking that
        the checkpoint holds weights of this model at all."""
        if checkpoint is not None:
            state = checkpoint.get('state_dict', checkpoint)
            keys = {re.sub(r'^module\.', '', key) for key in state}
            if not keys & set(model.state_dict()):
                raise ValueError(
                    f'checkpoint {self._weights!r} holds none of the weights of the '
                    f'{type(model).__name__} that the config builds (its keys start with '
                    f'{sorted({k.split(".")[0] for k in keys})[:5]}); is it the checkpoint of '
                    f'this config?')
        super()._load_weights_to_model(model, checkpoint, cfg)

    def _init_visualizer(self, cfg):
        """Pictures are drawn by :mod:`umg_mm.apis.visualization`, per task."""
        return None

    def _model_vocabulary(self):
        """The vocabulary the config gives the model: used when a call names none."""
        model = self.model
        if isinstance(model, UMGCLIPPretrainer):
            # loaded when a call needs it: its file may be absent where only other vocabularies
            # are used
            return dict(vocabulary=model.test_cfg.get('vocabulary'),
                        templates=model.test_cfg.get('templates'))
        if isinstance(model, OpenVocabEncoderDecoder):
            return dict(vocabulary=model.vocabulary)
        vocabulary, count = model.vocabulary, model.num_things_classes
        things = Vocabulary(vocabulary.synonyms[:count], vocabulary.source)
        stuff = Vocabulary(vocabulary.synonyms[count:], vocabulary.source)
        known = {name for names in stuff.synonyms for name in names}
        known.update(name for names in load_vocabulary(DEFAULT_STUFF_VOCABULARY).synonyms
                     for name in names)
        return dict(vocabulary=(things, stuff), known_stuff=known)

    def _set_vocabulary(self, task: str, vocabulary, stuff, templates) -> List[str]:
        """Point the model at this call's vocabulary; return the class names in label order."""
        model = self.model
        if stuff is not None and task != 'panoptic':
            raise ValueError(f'stuff=... splits a panoptic vocabulary; task={task!r} has no stuff')
        if templates is not None and not isinstance(model, UMGCLIPPretrainer):
            raise ValueError(f'templates=... apply to the UMGCLIPPretrainer tasks; the '
                             f'{type(model).__name__} takes its templates from its config')
        if task == 'retrieval':
            if vocabulary is not None:
                raise ValueError('task="retrieval" scores the given texts=[...], not a '
                                 'vocabulary; leave vocabulary out')
            model.set_vocabulary(None)
            return []
        if isinstance(model, UMGCLIPPretrainer):
            vocabulary = resolve_vocabulary(vocabulary, self._defaults['vocabulary'])
            model.set_vocabulary(vocabulary)
            model.test_cfg['templates'] = templates if templates is not None \
                else self._defaults['templates']
            return vocabulary.class_names
        if isinstance(model, OpenVocabEncoderDecoder):
            vocabulary = resolve_vocabulary(vocabulary, self._defaults['vocabulary'])
            model.set_vocabulary(vocabulary)
            return vocabulary.class_names
        things, stuff = split_things_stuff(vocabulary, stuff, self._defaults['vocabulary'],
                                           self._defaults['known_stuff'])
        return model.set_vocabulary(things, stuff).class_names

    # ------------------------------------------------------------------ the call
    def __call__(self,
                 inputs: Union[ImageInput, Sequence[ImageInput]],
                 task: Optional[str] = None,
                 vocabulary=None,
                 stuff=None,
                 texts: Optional[Sequence[str]] = None,
                 boxes=None,
                 templates=None,
                 topk: int = 5,
                 batch_size: int = 1,
                 out_dir: Optional[str] = None,
                 return_vis: bool = False) -> dict:
        """Predict on images.

        Args:
            inputs: an image path, a folder (its images), an ``(H, W, 3)`` BGR array, or a list
                of paths and arrays.
            task: ``'classification'``, ``'retrieval'``, ``'region'``, ``'semantic'`` or
                ``'panoptic'``; ``None``: the model's first task (see the class docstring).
            vocabulary: class names (a list; ``'a, b'`` items are synonyms), a vocabulary file
                or a benchmark name (``'ade20k_150'``); ``None``: the config's. For panoptic
                also ``dict(thing_classes=..., stuff_classes=...)``.
            stuff: panoptic only: which classes of ``vocabulary`` are stuff (names, a file, or
                a comma-separated string). Default: the model's stuff classes and COCO's 53
                stuff classes; every other class is a thing.
            texts: retrieval only: the texts to score each image against.
            boxes: region only: per image an ``(R, 4)`` array of ``x1, y1, x2, y2`` in input
                pixels (one array for a single image).
            templates: prompt templates for the ``UMGCLIPPretrainer`` tasks (set name, file or
                list); default: the config's.
            topk: classification only: how many classes to list.
            batch_size: images per forward pass.
            out_dir: write a picture per image there, ``<out_dir>/<file stem>.png``.
            return_vis: return the pictures as arrays.

        Returns:
            dict with ``task``; ``classes`` (label order; the texts for retrieval);
            ``predictions``: per image a dict of plain values (see :mod:`umg_mm.apis.results`);
            ``data_samples``: per image the data sample (``SegDataSample`` for semantic,
            ``DetDataSample`` otherwise); ``visualization``: BGR pictures (``return_vis``);
            ``pictures``: the files written (``out_dir``); ``similarity``: the
            ``(N, T)`` image-text matrix (retrieval).
        """
        task = check_task(self.model, task)
        images = inputs_to_list(inputs)
        boxes = _region_boxes(boxes, len(images)) if task == 'region' else \
            _refuse(boxes, 'boxes', task, 'region')
        texts = _retrieval_texts(texts) if task == 'retrieval' else \
            _refuse(texts, 'texts', task, 'retrieval')
        if batch_size < 1:
            raise ValueError(f'batch_size={batch_size}; give 1 or more')
        names = input_names(images)
        samples, predictions, pictures, written = [], [], [], []
        progress = ProgressBar(len(images), file=sys.stdout) if self.show_progress else None
        with DefaultScope.overwrite_default_scope(self.scope), torch.no_grad():
            classes = self._set_vocabulary(task, vocabulary, stuff, templates)
            text_embeddings = None
            if task == 'retrieval':
                classes = list(texts)
                text_embeddings = self.model.text_encoder.encode_text(texts, normalize=True)
            for start in range(0, len(images), batch_size):
                chunk = range(start, min(start + batch_size, len(images)))
                prepared = [self._prepare(images[i], i, boxes) for i in chunk]
                outputs = self.model.test_step(self.collate_fn([data for data, _ in prepared]))
                converted = [self._convert(task, output, classes, topk, text_embeddings)
                             for output in outputs]
                samples.extend(sample for sample, _ in converted)
                predictions.extend(prediction for _, prediction in converted)
                if out_dir is not None or return_vis:
                    drawn = self.visualize([image for _, image in prepared], converted, task,
                                           classes)
                    for i, picture in zip(chunk, drawn):
                        if out_dir is not None:
                            written.append(osp.join(out_dir, f'{names[i]}.png'))
                            write_picture(written[-1], picture)
                    pictures.extend(drawn if return_vis else [])
                if progress is not None:
                    progress.update(len(chunk))
        if progress is not None:
            progress.file.write('\n')
        return self.postprocess(task, classes, samples, predictions, pictures, written)

    def _prepare(self, image: ImageInput, index: int, boxes):
        """Read, resize and pack one image; attach its boxes (region task), rescaled.

        Returns:
            The packed ``dict(inputs, data_samples)`` and the image as read (BGR).
        """
        results = load_image(image, index)
        original = results['img']
        data = self.pipeline(results)
        if boxes is not None:
            scale_w, scale_h = data['data_samples'].metainfo.get('scale_factor', (1., 1.))
            scale = torch.tensor([scale_w, scale_h, scale_w, scale_h], dtype=torch.float32)
            data['data_samples'].gt_instances = InstanceData(
                bboxes=torch.from_numpy(boxes[index]) * scale)
            data['data_samples'].set_metainfo(dict(input_boxes=boxes[index]))
        return data, original

    def _convert(self, task: str, output, classes: List[str], topk: int, text_embeddings):
        """The data sample to return and the plain prediction of one image."""
        if task == 'classification':
            return output, R.classification_result(output.pred_img_scores, classes, topk)
        if task == 'retrieval':
            scores = output.img_embedding @ text_embeddings.T
            output.pred_text_scores = scores
            return output, R.retrieval_result(scores, classes)
        if task == 'region':
            boxes = torch.from_numpy(output.metainfo['input_boxes'])
            prediction = R.region_result(boxes, output.pred_region_scores, classes)
            sample = DetDataSample(metainfo=output.metainfo)
            sample.pred_instances = InstanceData(
                bboxes=boxes, labels=torch.tensor(prediction['labels'], dtype=torch.long),
                scores=torch.tensor(prediction['scores']))
            sample.pred_region_scores = output.pred_region_scores
            return sample, prediction
        if task == 'semantic':
            sample = output if isinstance(output, SegDataSample) else \
                _pretrainer_semantic(output)
            return sample, R.semantic_result(sample.pred_sem_seg.data, classes)
        return output, R.panoptic_result(output.pred_panoptic_seg.sem_seg, classes,
                                         self.model.num_things_classes)

    # ------------------------------------------------------------------ outputs
    def visualize(self, images: List[np.ndarray], preds: list, task: str,
                  classes: List[str]) -> List[np.ndarray]:
        """Pictures of predictions.

        Args:
            images: the input images, ``(H, W, 3)`` BGR.
            preds: per image ``(data sample, plain prediction)``.
            task: the task predicted.
            classes: the class names in label order (the texts for retrieval).

        Returns:
            Per image an ``(H', W', 3)`` BGR picture (:func:`.visualization.draw_prediction`):
            masks with class names or a legend (semantic, panoptic), boxes with class names
            (region), the best classes or texts with their scores (classification,
            retrieval); images under 512 px enlarged.
        """
        return [draw_prediction(image, task, sample, prediction, classes)
                for image, (sample, prediction) in zip(images, preds)]

    def postprocess(self, task: str, classes: List[str], samples: list, predictions: List[dict],
                    pictures: List[np.ndarray], written: List[str]) -> dict:
        """The result of a call (see :meth:`__call__`)."""
        out = dict(task=task, classes=classes, predictions=predictions, data_samples=samples,
                   visualization=pictures, pictures=written)
        if task == 'retrieval':
            out['similarity'] = np.array([p['scores'] for p in predictions],
                                         dtype=np.float32).reshape(len(predictions),
                                                                   len(classes))
        return out


def _pretrainer_semantic(output) -> SegDataSample:
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
