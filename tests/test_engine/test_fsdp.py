"""The EVA02-E/14 FSDP config: mmengine builds its strategy, and its model wrapper (the
config's own dict, umg_mm's block wrapping policy) shards a tiny pretrainer and trains a step
in a one-process gloo group on the CPU."""
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS, STRATEGIES
from torch.distributed.fsdp import FullyShardedDataParallel

from umg_mm.benchmark.synthetic_batch import umg_batch
from umg_mm.engine.fsdp import CLIP_BLOCKS
from umg_mm.models.utils.open_clip_builder import TINY_MODEL
from umg_mm.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
FSDP_CONFIG = ROOT / 'configs/umg/umg-clip_eva02-e14-fsdp_8xb32-amp-80k_umg41m.py'


@contextmanager
def gloo_process_group():
    """A one-process gloo group on a free local port, destroyed after."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=0,
                            world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


@pytest.fixture
def gloo_group():
    with gloo_process_group():
        yield


def test_config_is_a_flexible_runner_fsdp_recipe():
    cfg = Config.fromfile(str(FSDP_CONFIG))
    assert cfg.runner_type == 'FlexibleRunner'
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.use_fsdp
    strategy = STRATEGIES.build(cfg.strategy)
    assert type(strategy).__name__ == 'FSDPStrategy'
    # full tuning of both towers: nothing frozen, no adapters
    assert cfg.model.backbone.lora is None and cfg.model.backbone.frozen_stages == -1
    assert cfg.model.text_encoder.lora is None and not cfg.model.text_encoder.frozen
    assert cfg.model.clip.model_name == 'EVA02-E-14'  # both towers


def test_config_wrapper_shards_and_trains_a_tiny_pretrainer(gloo_group):
    cfg = Config.fromfile(str(FSDP_CONFIG))
    model_cfg = cfg.model.to_dict()
    model_cfg['clip'] = dict(model_name=TINY_MODEL, checkpoint='random')  # both towers
    model_cfg['backbone']['grad_checkpointing'] = False
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).train()
    wrapped = MODEL_WRAPPERS.build(cfg.strategy.model_wrapper.to_dict(), default_args=dict(
        module=model, device_id=torch.device('cpu')))
    assert type(wrapped).__name__ == 'CLIPFullyShardedDataParallel'
    # one FSDP unit per transformer block of both towers, plus the root
    units = [m for m in wrapped.modules() if isinstance(m, FullyShardedDataParallel)]
    blocks = [m for m in model.modules() if type(m) in CLIP_BLOCKS]
    assert len(blocks) == 3 + 2 and len(units) == len(blocks) + 1
    optimizer = torch.optim.AdamW(wrapped.parameters(), lr=1e-3)
    batch = umg_batch(2, 64, regions=2, segments=2, texts=2)
    before = [p.detach().clone() for p in wrapped.parameters()]
    losses = wrapped(**batch, mode='loss')
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(loss)
    loss.backward()
    optimizer.step()
    changed = [not torch.equal(a, p.detach()) for a, p in zip(before, wrapped.parameters())]
    assert sum(changed) > len(changed) // 2
    # checkpoints keep open_clip's 0-d logit_scale and load into the unwrapped model
    state = wrapped.state_dict()
    assert state['text_encoder.clip.logit_scale'].dim() == 0
    MODELS.build(model_cfg).load_state_dict(state)
