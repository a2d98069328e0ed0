"""Inference with umg_mm models: :func:`UMGInferencer` (Python API behind ``tools/demo.py``)
builds the task inferencer of a config's model."""
from .inferencers import (INFERENCERS, UMGCLIPInferencer, UMGInferencer, UMGPanopticInferencer,
                          UMGSegInferencer, UMGZeroShotInferencer)
from .tasks import TASKS, check_task, task_arguments

__all__ = ['UMGInferencer', 'INFERENCERS', 'UMGCLIPInferencer', 'UMGSegInferencer',
           'UMGPanopticInferencer', 'UMGZeroShotInferencer', 'TASKS', 'check_task',
           'task_arguments']
