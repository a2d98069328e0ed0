"""data_preprocessors of umg_mm."""
