"""datasets of umg_mm."""
