"""pretrainers of umg_mm."""
