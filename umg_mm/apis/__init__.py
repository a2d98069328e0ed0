"""Inference with umg_mm models: :class:`UMGInferencer` (Python API behind ``tools/demo.py``)."""
from .tasks import MODEL_TASKS, TASKS, supported_tasks
from .umg_inferencer import UMGInferencer

__all__ = ['UMGInferencer', 'MODEL_TASKS', 'TASKS', 'supported_tasks']
