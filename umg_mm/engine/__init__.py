"""Engine parts of umg_mm (hooks, the FSDP wrapping policy); importing it registers them."""
from . import fsdp, hooks  # noqa: F401
