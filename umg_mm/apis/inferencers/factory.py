"""``UMGInferencer``: the task inferencer of a config's model type."""
import inspect
from typing import Optional, Union

from mmengine.config import Config

from .base import load_config
from .clip import UMGCLIPInferencer
from .panoptic import UMGPanopticInferencer
from .semantic import UMGSegInferencer
from .zero_shot import UMGZeroShotInferencer

#: the config's ``model.type`` (a registry scope prefix dropped) -> its task inferencer
INFERENCERS = dict(
    UMGCLIPPretrainer=UMGCLIPInferencer,
    OpenVocabEncoderDecoder=UMGSegInferencer,
    OpenVocabMask2Former=UMGPanopticInferencer,
    UMGCLIPZeroShot=UMGZeroShotInferencer,
)


def inferencer_class(cfg: Config) -> type:
    """The task inferencer of ``cfg.model.type`` (see :data:`INFERENCERS`).

    Raises:
        TypeError: no umg_mm inferencer runs the model type.
    """
    model_type = cfg.model.type
    name = model_type.split('.')[-1] if isinstance(model_type, str) else model_type.__name__
    if name not in INFERENCERS:
        raise TypeError(f'the config builds a {name}; the umg_mm inferencers run '
                        f'{", ".join(INFERENCERS)} (model.type in the config)')
    return INFERENCERS[name]


def UMGInferencer(model: Union[str, Config, dict],  # noqa: N802  (it builds an inferencer)
                  weights: Optional[str] = None,
                  vocabulary=None,
                  stuff=None,
                  device: Optional[str] = None,
                  show_progress: bool = False,
                  **kwargs):
    """The inferencer of a umg_mm model, chosen by the model type in its config.

    ==========================  ======================================  ====================
    ``model.type``              inferencer (parent)                     tasks
    ==========================  ======================================  ====================
    ``UMGCLIPPretrainer``       :class:`UMGCLIPInferencer` (mmengine)   classification,
                                                                        retrieval, region,
                                                                        semantic
    ``OpenVocabEncoderDecoder``  :class:`UMGSegInferencer` (mmseg)      semantic
    ``OpenVocabMask2Former``    :class:`UMGPanopticInferencer` (mmdet)  panoptic
    ``UMGCLIPZeroShot``         :class:`UMGZeroShotInferencer`          classification
                                (mmpretrain)
    ==========================  ======================================  ====================

    Each keeps its parent's call (``inferencer(images, batch_size=..., return_vis=...,
    out_dir=...)``) and adds ``vocabulary`` (panoptic also ``stuff``); the result is a dict
    with ``predictions`` (plain dicts of :mod:`umg_mm.apis.results`, or the data samples with
    ``return_datasamples=True``), ``visualization`` (RGB pictures), ``classes`` and
    ``pictures`` (the files written).

    Args:
        model: a config file, or a ``Config`` / dict.
        weights: the checkpoint (``.pth`` of ``tools/train.py``); ``None`` keeps the weights the
            config builds, with a warning.
        vocabulary: the classes of a call that names none; ``None``: the config's.
        stuff: panoptic only: which classes of ``vocabulary`` are stuff (see
            :class:`UMGPanopticInferencer`: a vocabulary without ``stuff`` has no stuff
            classes).
        device: ``'cpu'``, ``'cuda'``, ... (``None``: the first available).
        show_progress: a progress bar over the batches, where the parent lets one choose
            (mmpretrain's shows one always).
        **kwargs: the task inferencer's other arguments (e.g. ``scope``).

    Returns:
        The task inferencer.
    """
    cfg = load_config(model)
    cls = inferencer_class(cfg)
    parameters = inspect.signature(cls.__init__).parameters
    if stuff is not None:
        if 'stuff' not in parameters:
            raise ValueError(f'stuff=... splits a panoptic vocabulary; the {cfg.model.type} has '
                             f'no stuff classes')
        kwargs['stuff'] = stuff
    if 'show_progress' in parameters:
        kwargs['show_progress'] = show_progress
    return cls(cfg, weights, vocabulary=vocabulary, device=device, **kwargs)
