"""mmengine's ``LoggerHook`` whose validation and test logs come at a fraction of the loop."""
import math

from mmengine.hooks import LoggerHook

from umg_mm.registry import HOOKS


@HOOKS.register_module()
class ProgressLoggerHook(LoggerHook):
    """``LoggerHook`` (training logged every ``interval`` iterations, as mmengine's) whose
    validation and test progress is logged every ``eval_fraction`` of the loop's batches and at
    its last batch, whatever ``interval`` is: a 16-batch test with ``interval=50`` logs
    ``Iter(test) [ 2/16]  eta: ...`` eight times instead of never (the ETA and times come from
    ``IterTimerHook``, as in training).

    Args:
        eval_fraction: log validation / testing every this fraction of the batches (0 < f <= 1).
        **kwargs: mmengine's ``LoggerHook`` arguments.
    """

    def __init__(self, eval_fraction: float = 0.1, **kwargs) -> None:
        if not 0 < eval_fraction <= 1:
            raise ValueError(f'eval_fraction={eval_fraction}; give a fraction in (0, 1], e.g. '
                             f'0.1 to log every tenth of the batches')
        super().__init__(**kwargs)
        self.eval_fraction = eval_fraction

    def _log_eval_progress(self, runner, batch_idx: int, mode: str, dataloader) -> None:
        total = len(dataloader)
        interval = max(1, math.ceil(total * self.eval_fraction))
        if (batch_idx + 1) % interval == 0 or batch_idx + 1 == total:
            _, log_str = runner.log_processor.get_log_after_iter(runner, batch_idx, mode)
            runner.logger.info(log_str)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._log_eval_progress(runner, batch_idx, 'val', runner.val_dataloader)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._log_eval_progress(runner, batch_idx, 'test', runner.test_dataloader)
