"""umg_mm.utils.compat: weights_only loading of mmengine checkpoints, CPU-distributed set-up."""
import io
import os
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner

import umg_mm  # noqa: F401  (applies the allow-list)
from umg_mm.utils import compat


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((out.squeeze(1) - labels) ** 2).mean())
        return out


def _train_toy(work_dir, max_iters, resume=False):
    data = [dict(inputs=torch.randn(2), labels=torch.randn(())) for _ in range(8)]
    runner = Runner(
        model=ToyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=2, collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2)),
        resume=resume, default_scope='mmengine', experiment_name=f'toy{max_iters}{resume}')
    runner.train()
    return runner


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    _train_toy(tmp_path, max_iters=2)
    ckpt = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 2
    history = ckpt['message_hub']['log_scalars']['train/loss']
    assert history.min() == min(history.data[0])  # a real HistoryBuffer came back


def test_runner_resumes_at_the_saved_iteration(tmp_path):
    _train_toy(tmp_path, max_iters=2)
    runner = _train_toy(tmp_path, max_iters=4, resume=True)
    assert runner.iter == 4
    assert torch.load(tmp_path / 'iter_4.pth', weights_only=True)['meta']['iter'] == 4


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


class _GetattrEvil:
    """Pickles as getattr(HistoryBuffer, '__init__'): allowed class, disallowed attribute."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.mark.parametrize('payload', [_Evil(), _GetattrEvil()])
def test_untrusted_globals_are_still_refused(payload):
    buffer = io.BytesIO()
    torch.save({'x': payload}, buffer)
    buffer.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(buffer, weights_only=True)


def test_cpu_distributed_is_a_no_op_without_launcher():
    cfg = Config(dict(model=dict(type='X')))
    compat.setup_cpu_distributed(cfg, 'none')
    assert 'model_wrapper_cfg' not in cfg


def test_cpu_distributed_uses_gloo_and_no_device_ids(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(compat.torch_dist, 'is_initialized', lambda: False)
    monkeypatch.setattr(compat.torch_dist, 'init_process_group',
                        lambda **kwargs: calls.append(kwargs))
    cfg = Config(dict(model=dict(type='X'), find_unused_parameters=True,
                      model_wrapper_cfg=dict(type='MMDistributedDataParallel')))
    compat.setup_cpu_distributed(cfg, 'pytorch')
    assert calls == [dict(backend='gloo', init_method='env://')]
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    with pytest.raises(ValueError, match='launcher="pytorch"'):
        compat.setup_cpu_distributed(cfg, 'slurm')


def test_cpu_distributed_leaves_gpu_hosts_alone(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config(dict(model=dict(type='X')))
    compat.setup_cpu_distributed(cfg, 'pytorch')
    assert 'model_wrapper_cfg' not in cfg and 'env_cfg' not in cfg


def test_shutdown_distributed_waits_for_all_ranks_then_destroys(monkeypatch):
    calls = []
    monkeypatch.setattr(compat.torch_dist, 'is_initialized', lambda: True)
    monkeypatch.setattr(compat.torch_dist, 'barrier', lambda: calls.append('barrier'))
    monkeypatch.setattr(compat.torch_dist, 'destroy_process_group',
                        lambda: calls.append('destroy'))
    compat.shutdown_distributed()
    assert calls == ['barrier', 'destroy']
    monkeypatch.setattr(compat.torch_dist, 'is_initialized', lambda: False)
    compat.shutdown_distributed()
    assert calls == ['barrier', 'destroy']
