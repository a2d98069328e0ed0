"""transforms of umg_mm."""
