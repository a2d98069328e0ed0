"""ProgressLoggerHook: a test loop of 16 batches logs its progress with an ETA every tenth of the
loop and at its end, while training keeps LoggerHook's interval."""
import re

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner

from umg_mm.engine.hooks import ProgressLoggerHook


class TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return dict(loss=(inputs * self.weight).mean())
        return [dict(value=float(v)) for v in inputs * self.weight]


class MeanMetric(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.extend(sample['value'] for sample in data_samples)

    def compute_metrics(self, results):
        return dict(mean=sum(results) / len(results))


def run(tmp_path, hook: dict, mode: str) -> str:
    data = [dict(inputs=torch.tensor(float(i))) for i in range(32)]
    loader = dict(dataset=data, batch_size=2, num_workers=0,
                  collate_fn=dict(type='default_collate'),
                  sampler=dict(type='DefaultSampler', shuffle=False))
    runner = Runner(
        model=TinyModel(), work_dir=str(tmp_path),
        experiment_name=f'progress_{mode}_{tmp_path.name}',
        train_dataloader=loader, train_cfg=dict(by_epoch=False, max_iters=12),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        test_dataloader=loader, test_cfg=dict(), test_evaluator=MeanMetric(),
        default_hooks=dict(logger=hook, checkpoint=None), log_processor=dict(by_epoch=False))
    getattr(runner, 'train' if mode == 'train' else 'test')()
    with open(runner._log_dir + f'/{runner.timestamp}.log') as f:
        return f.read()


def test_test_progress_every_tenth_with_eta(tmp_path):
    log = run(tmp_path, dict(type='ProgressLoggerHook', interval=50), 'test')
    steps = [int(m) for m in re.findall(r'Iter\(test\) \[\s*(\d+)/16\]\s+eta: ', log)]
    assert steps == [2, 4, 6, 8, 10, 12, 14, 16]
    assert 'mean: 15.5' in log


def test_stock_logger_hook_logs_no_progress(tmp_path):
    """mmengine's LoggerHook with interval 50 says nothing during a 16-batch test."""
    log = run(tmp_path, dict(type='LoggerHook', interval=50), 'test')
    assert not re.findall(r'Iter\(test\) \[\s*\d+/16\]\s+eta: ', log)
    assert 'mean: 15.5' in log


def test_training_keeps_the_interval(tmp_path):
    log = run(tmp_path, dict(type='ProgressLoggerHook', interval=5), 'train')
    assert [int(m) for m in re.findall(r'Iter\(train\) \[\s*(\d+)/12\]', log)] == [5, 10]


def test_bad_fraction():
    with pytest.raises(ValueError, match=r'eval_fraction=0; give a fraction in \(0, 1\]'):
        ProgressLoggerHook(eval_fraction=0)
