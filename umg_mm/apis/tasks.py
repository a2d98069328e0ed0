"""Which inference tasks each model type can do: the table the inferencer checks a request
against."""
from typing import Tuple

from torch import nn

from umg_mm.models.detectors import OpenVocabMask2Former
from umg_mm.models.pretrainers import UMGCLIPPretrainer
from umg_mm.models.segmentors import OpenVocabEncoderDecoder

TASKS = ('classification', 'retrieval', 'region', 'semantic', 'panoptic')

#: model class -> the tasks it supports; the first is the default task.
MODEL_TASKS = {
    UMGCLIPPretrainer: ('classification', 'retrieval', 'region', 'semantic'),
    OpenVocabEncoderDecoder: ('semantic', ),
    OpenVocabMask2Former: ('panoptic', ),
}


def supported_tasks(model: nn.Module) -> Tuple[str, ...]:
    """The tasks ``model`` supports (see :data:`MODEL_TASKS`).

    Raises:
        TypeError: the model is of none of the types in the table.
    """
    for model_type, tasks in MODEL_TASKS.items():
        if isinstance(model, model_type):
            return tasks
    names = ', '.join(t.__name__ for t in MODEL_TASKS)
    raise TypeError(f'the config builds a {type(model).__name__}; the umg_mm inferencer runs '
                    f'{names} (model.type in the config)')


def check_task(model: nn.Module, task: str) -> str:
    """Return ``task`` if ``model`` supports it, else raise an error naming both.

    Args:
        model: the built model.
        task: one of :data:`TASKS`, or ``None`` for the model's default task.

    Returns:
        The task to run.
    """
    tasks = supported_tasks(model)
    if task is None:
        return tasks[0]
    if task not in TASKS:
        raise ValueError(f'task={task!r} is unknown; the tasks are {list(TASKS)}')
    if task not in tasks:
        raise ValueError(f'{type(model).__name__} cannot do task={task!r}; it supports '
                         f'{list(tasks)}. Use a config whose model does {task!r} ('
                         + ', '.join(f'{t.__name__}: {list(ts)}' for t, ts in MODEL_TASKS.items())
                         + ')')
    return task
