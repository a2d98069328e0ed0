"""Models of umg_mm; importing it registers every model component."""
from . import (backbones, data_preprocessors, detectors, heads, losses,  # noqa: F401
               pretrainers, segmentors, text)
