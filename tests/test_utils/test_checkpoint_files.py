"""Every checkpoint loader refuses a pickle that runs code and a TorchScript archive; no marker.

The loaders: ``load_checkpoint_file`` (resume), ``read_state_dict`` (the backbone's and text
tower's ``checkpoint=``, ``tools/convert_open_clip.py``) and mmengine's own ``load_from`` /
``--resume`` path (``CheckpointLoader``). TorchScript archives run their code inside
``torch.jit.load``; here a ``torch.jit.load`` that writes the marker stands in for that code.
"""
import importlib.util
import os.path as osp
import pickle

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from tests.umg_fixtures import WritesMarkerWhenUnpickled
from umg_mm.models.backbones import UMGCLIPBackbone
from umg_mm.models.text import UMGCLIPTextEncoder
from umg_mm.models.utils import NANO_MODEL
from umg_mm.models.utils.checkpoint import read_state_dict
from umg_mm.utils.checkpoint_files import is_torchscript_archive, load_checkpoint_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _Tiny(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x)


@pytest.fixture
def poisoned(tmp_path, monkeypatch):
    """A pickled checkpoint and a TorchScript archive that would write ``marker`` on loading."""
    marker = tmp_path / 'marker'
    pickled = tmp_path / 'pickled.pth'
    torch.save({'state_dict': {'fc.weight': torch.zeros(2, 2)}, 'meta': WritesMarkerWhenUnpickled(marker)},
               pickled)
    scripted = tmp_path / 'scripted.pt'
    torch.jit.save(torch.jit.script(_Tiny()), str(scripted))

    def jit_load_runs_code(*args, **kwargs):
        marker.write_text('ran')
        raise AssertionError('torch.jit.load must not be reached')

    monkeypatch.setattr(torch.jit, 'load', jit_load_runs_code)
    return marker, pickled, scripted


def _load_via_convert_tool(path, tmp_path):
    spec = importlib.util.spec_from_file_location(
        'convert_open_clip', osp.join(ROOT, 'tools', 'convert_open_clip.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(['to-umg', str(path), str(tmp_path / 'out.pth')])


LOADERS = {
    'load_checkpoint_file': lambda path, tmp_path: load_checkpoint_file(str(path)),
    'read_state_dict': lambda path, tmp_path: read_state_dict(str(path)),
    'backbone checkpoint=': lambda path, tmp_path: UMGCLIPBackbone(
        model_name=NANO_MODEL, checkpoint=str(path)),
    'text tower checkpoint=': lambda path, tmp_path: UMGCLIPTextEncoder(
        model_name=NANO_MODEL, checkpoint=str(path)),
    'convert_open_clip': _load_via_convert_tool,
    'mmengine load_from': lambda path, tmp_path: CheckpointLoader.load_checkpoint(
        str(path), map_location='cpu'),
}


@pytest.mark.parametrize('loader', sorted(LOADERS))
def test_every_loader_refuses_both_and_runs_nothing(poisoned, loader, tmp_path):
    marker, pickled, scripted = poisoned
    assert is_torchscript_archive(str(scripted)) and not is_torchscript_archive(str(pickled))
    with pytest.raises((pickle.UnpicklingError, RuntimeError), match='exec|weights_only'):
        LOADERS[loader](pickled, tmp_path)
    with pytest.raises((ValueError, RuntimeError), match='TorchScript'):
        LOADERS[loader](scripted, tmp_path)
    assert not marker.exists()
    assert not (tmp_path / 'out.pth').exists()


def test_trusted_torchscript_is_read_by_the_convert_tool_only_when_asked(tmp_path):
    scripted = tmp_path / 'scripted.pt'
    torch.jit.save(torch.jit.script(_Tiny()), str(scripted))
    with pytest.raises(ValueError, match='--trust-torchscript'):
        read_state_dict(str(scripted))
    state = read_state_dict(str(scripted), trust_torchscript=True)
    assert sorted(state) == ['fc.bias', 'fc.weight']
