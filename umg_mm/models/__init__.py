"""models of umg_mm."""
