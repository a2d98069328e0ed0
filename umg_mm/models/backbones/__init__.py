"""backbones of umg_mm."""
