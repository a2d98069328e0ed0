"""text of umg_mm."""
