"""Utilities of umg_mm: torch compatibility fixes and environment checks."""
