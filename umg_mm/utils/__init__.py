"""Utilities of umg_mm: torch compatibility fixes, environment and config checks."""
