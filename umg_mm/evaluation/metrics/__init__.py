"""metrics of umg_mm."""
