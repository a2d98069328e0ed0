"""What every stage of the engine is: a component that annotates a batch of images in place."""
import os.path as osp
from typing import List, Optional

from ..models import freeze
from ..sample import EngineSample

ROLES = ('detect', 'segment', 'tag', 'caption', 'filter')


class BaseStage:
    """A step of the engine: reads and extends the records of a batch of images.

    Subclasses set ``role`` (one of :data:`ROLES`), build their model in :meth:`setup` and
    annotate in :meth:`process`; everything they add carries :func:`~..sample.provenance`.

    Args:
        batch_size: images per model call.
        name: the stage's name in provenance and counts (default: ``role``).
    """
    role = ''

    def __init__(self, batch_size: int = 8, name: Optional[str] = None):
        if batch_size < 1:
            raise ValueError(f'{type(self).__name__}: batch_size={batch_size}; give 1 or more')
        self.batch_size = batch_size
        self.name = name or self.role
        self.device = 'cpu'

    @property
    def model_name(self) -> str:
        """The model in provenance records (``config@checkpoint`` file names)."""
        return type(self).__name__

    def setup(self, device: str) -> None:
        """Build the model on ``device`` (called once, before the first batch)."""
        self.device = device

    def process(self, samples: List[EngineSample]) -> None:
        """Annotate ``samples`` (at most ``batch_size``) in place."""
        raise NotImplementedError


def model_label(config: str, checkpoint: Optional[str]) -> str:
    """``<config file>@<checkpoint file>`` (``@random`` without a checkpoint), for provenance."""
    name = osp.basename(config) if isinstance(config, str) else 'config'
    return f'{name}@{osp.basename(checkpoint) if checkpoint else "random"}'


class ModelStage(BaseStage):
    """A stage that runs a model built from a config and a checkpoint through an inferencer.

    Subclasses name the inferencer builder of :mod:`..models` in ``build_inferencer``.

    Args:
        config: the model's config file (``mmdet::`` / ``mmpretrain::`` prefixes name the
            configs the installed packages ship).
        checkpoint: its weights (``None``: the config's, random unless it names some).
        cfg_options: config overrides, e.g. ``{'model.test_cfg.max_per_img': 50}``.
        batch_size, name: see :class:`BaseStage`.
    """
    build_inferencer = None

    def __init__(self, config: str, checkpoint: Optional[str] = None,
                 cfg_options: Optional[dict] = None, **kwargs):
        super().__init__(**kwargs)
        self.config, self.checkpoint = config, checkpoint
        self.options = dict(cfg_options or {})
        self.inferencer = None

    @property
    def model_name(self) -> str:
        return model_label(self.config, self.checkpoint)

    def setup(self, device: str) -> None:
        super().setup(device)
        self.inferencer = type(self).build_inferencer(self.config, self.checkpoint, device,
                                                      freeze(self.options))
