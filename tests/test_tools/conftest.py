import importlib.util
import os.path as osp

import pytest

TOOLS = osp.join(osp.dirname(__file__), '..', '..', 'tools')


@pytest.fixture
def load_tool():
    """Import a script of ``tools/`` by its path relative to ``tools/``."""

    def load(rel_path):
        spec = importlib.util.spec_from_file_location(
            osp.splitext(osp.basename(rel_path))[0], osp.join(TOOLS, rel_path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def random_checkpoint():
    """Save a randomly initialised model of a config (random CLIP towers) as a checkpoint; the
    config reads the world that ``UMG_SYNTHETIC_ROOT`` names."""

    def save(config: str, out: str) -> str:
        import torch
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        from umg_mm.registry import MODELS
        cfg = Config.fromfile(config)
        cfg.model.clip.checkpoint = 'random'
        init_default_scope(cfg.get('default_scope') or 'mmengine')
        torch.manual_seed(0)
        torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, out)
        return out

    return save
