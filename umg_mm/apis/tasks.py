"""The inference tasks, and the check of a requested task against an inferencer's."""
from typing import Optional, Sequence

TASKS = ('classification', 'retrieval', 'region', 'semantic', 'panoptic')


def check_task(model_name: str, tasks: Sequence[str], task: Optional[str]) -> str:
    """Return ``task`` if it is one of ``tasks``, else raise an error naming both.

    Args:
        model_name: the model's class name (for the message).
        tasks: the tasks its inferencer predicts, the default first.
        task: one of :data:`TASKS`, or ``None`` for the default task.

    Returns:
        The task to run.
    """
    if task is None:
        return tasks[0]
    if task not in TASKS:
        raise ValueError(f'task={task!r} is unknown; the tasks are {list(TASKS)}')
    if task not in tasks:
        raise ValueError(f'{model_name} cannot do task={task!r}; it supports {list(tasks)}. Use '
                         f'a config whose model does {task!r} (docs/inference.md#tasks)')
    return task


def task_arguments(inferencer, task: Optional[str]) -> dict:
    """The ``task=`` argument of a call to ``inferencer`` (none where it predicts one task),
    after checking that it can do ``task``."""
    task = check_task(type(inferencer.model).__name__, inferencer.tasks, task)
    return dict(task=task) if len(inferencer.tasks) > 1 else {}
