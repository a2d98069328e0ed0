"""Models of umg_mm; importing it registers every model component."""
from . import backbones, data_preprocessors, losses, pretrainers, text  # noqa: F401
