"""losses of umg_mm."""
