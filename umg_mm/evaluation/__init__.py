"""Evaluation of umg_mm; importing it registers the metrics."""
from . import metrics  # noqa: F401
