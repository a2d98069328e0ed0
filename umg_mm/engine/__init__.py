"""Engine parts of umg_mm (hooks); importing it registers them."""
from . import hooks  # noqa: F401
