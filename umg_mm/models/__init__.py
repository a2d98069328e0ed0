"""Models of umg_mm; importing it registers every model component."""
from . import backbones, detectors, heads, segmentors, text  # noqa: F401
