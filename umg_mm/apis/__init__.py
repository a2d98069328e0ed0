"""apis of umg_mm."""
