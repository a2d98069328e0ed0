"""Models of umg_mm; importing it registers every model component."""
from . import (backbones, classifiers, data_preprocessors, detectors, heads,  # noqa: F401
               losses, necks, open_vocab, pretrainers, segmentors, text)
