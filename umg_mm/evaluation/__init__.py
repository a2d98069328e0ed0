"""evaluation of umg_mm."""
