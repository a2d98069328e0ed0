"""What every umg_mm task inferencer adds to its mmseg / mmdet / mmpretrain / mmengine parent:
the config and checkpoint checked, umg_mm's image reading before the config's test pipeline, the
vocabulary of a call, plain results (:mod:`umg_mm.apis.results`) and umg_mm's pictures."""
import copy
import os.path as osp
import re
import warnings
from typing import Callable, List, Optional, Sequence, Union

import mmcv
import numpy as np
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from umg_mm.structures.vocabulary import Vocabulary
from umg_mm.utils.atomic_io import write_json_atomic
from ..image_inputs import ImageInput, input_names, inputs_to_list, load_image
from ..inference_vocabulary import apply_vocabulary, model_vocabulary, resolve_vocabulary
from ..results import DENSE_KEYS, json_ready
from ..visualization import draw_prediction, write_picture

#: transforms of a test pipeline that read files (the inferencer reads the image itself and has
#: no annotations)
LOADING_TRANSFORMS = ('LoadImageFromFile', 'LoadUMGImage', 'InferencerLoader',
                      'LoadImageFromNDArray', 'LoadAnnotations', 'LoadPanopticAnnotations',
                      'LoadUMGAnnotations')


def load_config(model: Union[str, Config, dict]) -> Config:
    """The config of ``model`` (a config file, a ``Config`` or a dict), copied.

    Raises:
        FileNotFoundError: the config file does not exist.
    """
    if isinstance(model, str):
        if not osp.isfile(model):
            raise FileNotFoundError(f'config file {model!r} does not exist')
        return Config.fromfile(model)
    return copy.deepcopy(model if isinstance(model, (Config, ConfigDict)) else Config(model))


def check_weights_file(weights: Optional[str]) -> None:
    """Raise ``FileNotFoundError`` naming ``weights`` if it is given and absent."""
    if weights is not None and not osp.isfile(weights):
        raise FileNotFoundError(f'checkpoint file {weights!r} does not exist; give the .pth '
                                f'that tools/train.py wrote (work_dirs/<config>/iter_N.pth)')


def inference_pipeline(cfg: Config, scope: Optional[str] = None) -> Compose:
    """Read an input (:func:`~umg_mm.apis.image_inputs.load_image`), then the config's test
    pipeline without its file-loading and annotation steps, its transforms built in ``scope``
    (default: the config's ``default_scope``)."""
    loader = cfg.get('test_dataloader') or {}
    pipeline = loader.get('dataset', {}).get('pipeline') if loader else None
    pipeline = pipeline or cfg.get('test_pipeline')
    if not pipeline:
        raise KeyError('the config has neither test_dataloader.dataset.pipeline nor '
                       'test_pipeline; the inferencer resizes and packs images with it')
    steps = [step for step in copy.deepcopy(pipeline)
             if step['type'].split('.')[-1] not in LOADING_TRANSFORMS]
    with DefaultScope.overwrite_default_scope(scope or cfg.get('default_scope')):
        return Compose([load_image, *steps])


class UMGInferencerMixin:
    """umg_mm's part of a task inferencer; put it before the mmseg / mmdet / mmpretrain parent.

    Subclasses set :attr:`tasks` and implement :meth:`pred2dict`; their ``__call__`` keeps the
    parent's arguments and adds ``vocabulary`` (see :meth:`_use_vocabulary`).

    Attributes:
        tasks: the tasks the inferencer predicts, the default first.
        picture_dir_arg: the ``__call__`` argument naming the folder for pictures (the
            parent's: ``out_dir`` or ``show_dir``).
        default_vocabulary: the vocabulary of a call that names none: the one given when the
            inferencer was built, else the config's (see
            :func:`~umg_mm.apis.inference_vocabulary.model_vocabulary`).
        classes: the class names of the last call, in label order.
    """
    tasks: tuple = ()
    picture_dir_arg = 'out_dir'
    #: the sub-folder of ``out_dir`` the parent writes pictures to
    picture_subdir = 'vis'

    def _checked_config(self, model, weights: Optional[str]) -> Config:
        """The config of ``model`` (see :func:`load_config`), ``weights`` checked to exist."""
        cfg = load_config(model)
        check_weights_file(weights)
        self._weights = weights
        return cfg

    def _init_umg(self, vocabulary, stuff=None) -> None:
        """Set :attr:`default_vocabulary` after the parent's ``__init__``."""
        self._pictures, self._drawn, self._saved = [], 0, 0
        self.default_vocabulary = self._model_default()
        if vocabulary is not None or stuff is not None:
            self._use_vocabulary(vocabulary, stuff)
            self.default_vocabulary = self._model_default()
        else:
            current = model_vocabulary(self.model)
            self._set_classes(current if isinstance(current, Vocabulary) else None)

    def _model_default(self):
        """The model's vocabulary now, kept as :attr:`default_vocabulary`."""
        return model_vocabulary(self.model)

    # ------------------------------------------------------------------ set-up (the parent's)
    def _load_weights_to_model(self, model, checkpoint: Optional[dict], cfg) -> None:
        """mmengine's loading, after checking that the checkpoint holds weights of this model
        at all; the model's class names come from its vocabulary, not from the checkpoint."""
        vocabulary = model_vocabulary(model)
        model.dataset_meta = dict(classes=vocabulary.class_names
                                  if isinstance(vocabulary, Vocabulary) else [])
        if checkpoint is None:
            warnings.warn('no checkpoint is loaded: the predictions are those of the weights the '
                          'config builds')
            return
        state = checkpoint.get('state_dict', checkpoint)
        keys = {re.sub(r'^module\.', '', key) for key in state}
        if not keys & set(model.state_dict()):
            raise ValueError(
                f'checkpoint {self._weights!r} holds none of the weights of the '
                f'{type(model).__name__} that the config builds (its keys start with '
                f'{sorted({k.split(".")[0] for k in keys})[:5]}); is it the checkpoint of this '
                f'config?')
        _load_checkpoint_to_model(model, checkpoint)

    def _init_pipeline(self, cfg) -> Callable:
        return inference_pipeline(cfg, getattr(self, 'scope', None))

    def _inputs_to_list(self, inputs: Union[ImageInput, Sequence[ImageInput]]) -> list:
        """One image, a folder (its images, by extension) or a list, as a list."""
        return inputs_to_list(inputs)

    # ------------------------------------------------------------------ vocabulary
    def _use_vocabulary(self, vocabulary, stuff=None) -> List[str]:
        """Point the model at a call's vocabulary (``None``: :attr:`default_vocabulary`).

        Returns:
            The class names in label order.
        """
        if stuff is not None:
            raise ValueError(f'stuff=... splits a panoptic vocabulary; the '
                             f'{type(self.model).__name__} has no stuff classes')
        vocabulary = resolve_vocabulary(vocabulary, self.default_vocabulary)
        return self._set_classes(apply_vocabulary(self.model, vocabulary))

    def _set_classes(self, vocabulary: Optional[Vocabulary]) -> List[str]:
        """Name the labels of the model and of the visualiser after ``vocabulary``."""
        self.classes = [] if vocabulary is None else vocabulary.class_names
        self.model.dataset_meta = dict(classes=self.classes)
        if getattr(self, 'visualizer', None) is not None:
            self.visualizer.dataset_meta = dict(classes=self.classes)
        return self.classes

    # ------------------------------------------------------------------ outputs
    def pred2dict(self, data_sample) -> dict:
        """The plain result of one data sample (:mod:`umg_mm.apis.results`)."""
        raise NotImplementedError

    def _picture_names(self, inputs: list) -> List[str]:
        """A file stem per input; arrays numbered by their place in the call."""
        return [name if isinstance(image, str) else f'{self._drawn + i:06d}'
                for i, (image, name) in enumerate(zip(inputs, input_names(inputs)))]

    def _draw_all(self, inputs: list, preds: list, draw: Callable, out_dir: str,
                  return_vis: bool) -> Optional[List[np.ndarray]]:
        """Draw each prediction over its input with ``draw(name, rgb, pred, out_file)`` (which
        writes ``out_file`` if not ``None`` and returns the RGB picture); the files are
        ``<out_dir>/<stem>.png``.

        Returns:
            The RGB pictures if ``return_vis``, else ``None``.
        """
        pictures = []
        for name, image, pred in zip(self._picture_names(inputs), inputs, preds):
            rgb = mmcv.bgr2rgb(load_image(image)['img'])
            out_file = osp.join(out_dir, f'{name}.png') if out_dir else None
            picture = draw(name, rgb, pred, out_file)
            if out_file is not None:
                self._pictures.append(out_file)
            if return_vis:
                pictures.append(picture)
        self._drawn += len(inputs)
        return pictures if return_vis else None

    def _draw_with_visualizer(self, show: bool, wait_time: float, **kwargs) -> Callable:
        """A ``draw`` for :meth:`_draw_all` through the config's visualiser (its
        ``add_datasample`` with ``kwargs``)."""
        if self.visualizer is None:
            raise ValueError('pictures need a visualizer in the config (visualizer = '
                             "dict(type='UMGSegLocalVisualizer') or 'UMGDetLocalVisualizer')")

        def draw(name, rgb, pred, out_file):
            self.visualizer.add_datasample(name, rgb, pred, draw_gt=False, show=show,
                                           wait_time=wait_time, out_file=out_file, **kwargs)
            return self.visualizer.get_image()

        return draw

    @staticmethod
    def _draw_prediction(task: str) -> Callable:
        """A ``draw`` for :meth:`_draw_all` by :func:`~umg_mm.apis.visualization.draw_prediction`
        (regions, or scores of classes or texts beside the image); ``pred`` is ``(sample, plain
        result, classes)``."""

        def draw(name, rgb, pred, out_file):
            picture = draw_prediction(mmcv.rgb2bgr(rgb), task, *pred)
            if out_file is not None:
                write_picture(out_file, picture)
            return mmcv.bgr2rgb(picture)

        return draw

    def _start_call(self, vocabulary, stuff=None) -> List[str]:
        """Reset the per-call picture bookkeeping and set the call's vocabulary."""
        self._pictures, self._drawn, self._saved = [], 0, 0
        return self._use_vocabulary(vocabulary, stuff)

    def _finish_call(self, out: dict) -> dict:
        """Add ``classes`` (label order) and ``pictures`` (files written) to a call's result."""
        out['classes'] = list(self.classes)
        out['pictures'] = list(self._pictures)
        return out

    def _results(self, preds: list, visualization, return_datasamples: bool,
                 pred_out_dir: str = '', **kwargs) -> dict:
        """``predictions`` (plain dicts, or the data samples with ``return_datasamples``) and
        ``visualization`` (RGB pictures, or ``[]``); with ``pred_out_dir`` each plain result
        written there as ``<n>.json`` and its dense maps as ``<n>_<key>.npy``."""
        plain = [self.pred2dict(pred, **kwargs) for pred in preds]
        if pred_out_dir:
            for i, result in enumerate(plain, start=self._saved):
                write_json_atomic(osp.join(pred_out_dir, f'{i:06d}.json'),
                                  json_ready([result])[0])
                for key in DENSE_KEYS:
                    if key in result:
                        np.save(osp.join(pred_out_dir, f'{i:06d}_{key}.npy'), result[key])
        self._saved += len(plain)
        return dict(predictions=list(preds) if return_datasamples else plain,
                    visualization=visualization or [])
