"""Evaluation of umg_mm: zero-shot metrics."""
from . import metrics  # noqa: F401
