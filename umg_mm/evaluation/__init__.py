"""Evaluation of umg_mm: zero-shot and open-vocabulary metrics; importing it registers them."""
from . import metrics  # noqa: F401
