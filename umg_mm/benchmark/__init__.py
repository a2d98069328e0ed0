"""Performance of umg_mm against its references, measured in one run (``tools/benchmark.py``).

Each section (:data:`~umg_mm.benchmark.sections.SECTIONS`) reports ratios of a measured figure
to its reference, e.g. the backbone's dense forward against open_clip's ``encode_image``.
"""
from .context import TINY_MODEL, BenchmarkContext
from .runner import format_table, run_benchmark, run_sections
from .sections import SECTIONS

__all__ = ['BenchmarkContext', 'SECTIONS', 'TINY_MODEL', 'format_table', 'run_benchmark',
           'run_sections']
