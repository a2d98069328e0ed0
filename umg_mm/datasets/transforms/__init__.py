"""transforms of umg_mm."""
from .wide_label_loading import LoadWideSegAnnotations

__all__ = ['LoadWideSegAnnotations']
