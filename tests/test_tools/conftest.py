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
