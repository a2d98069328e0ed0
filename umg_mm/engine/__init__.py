"""Engine parts of umg_mm: hooks."""
from . import hooks  # noqa: F401  (registers the hooks)
