"""Evaluation of umg_mm: metrics."""
from . import metrics  # noqa: F401  (registers the metrics)
