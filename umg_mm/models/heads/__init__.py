"""heads of umg_mm."""
