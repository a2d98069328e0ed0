"""engine of umg_mm."""
