"""tools/convert_open_clip.py: exact round trip, loading by the towers, LoRA merging."""
import importlib.util
import os.path as osp

import pytest
import torch

import umg_mm  # noqa: F401
from umg_mm.models.backbones import UMGCLIPBackbone
from umg_mm.models.text import UMGCLIPTextEncoder
from umg_mm.models.utils import NANO_MODEL as TINY
from umg_mm.models.utils import build_open_clip

SCRIPT = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'convert_open_clip.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('convert_open_clip', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def open_clip_file(tmp_path_factory):
    torch.manual_seed(0)
    clip = build_open_clip(TINY)
    path = tmp_path_factory.mktemp('oc') / 'open_clip.pt'
    torch.save(clip.state_dict(), path)
    return str(path)


def test_round_trip_is_exact(tool, open_clip_file, tmp_path):
    umg, back = tmp_path / 'umg.pth', tmp_path / 'back.pt'
    assert tool.main(['to-umg', open_clip_file, str(umg)]) == 0
    assert tool.main(['to-open-clip', str(umg), str(back)]) == 0
    original, returned = torch.load(open_clip_file), torch.load(back)
    assert list(returned) == list(original)
    assert all(torch.equal(returned[k], original[k]) for k in original)
    converted = torch.load(umg, weights_only=True)['state_dict']
    assert 'backbone.visual.conv1.weight' in converted
    assert 'text_encoder.clip.token_embedding.weight' in converted


def test_converted_file_loads_into_both_towers(tool, open_clip_file, tmp_path):
    umg = tmp_path / 'umg.pth'
    tool.main(['to-umg', open_clip_file, str(umg)])
    original = torch.load(open_clip_file)
    backbone = UMGCLIPBackbone(model_name=TINY, init_cfg=dict(
        type='Pretrained', checkpoint=str(umg), prefix='backbone.'))
    backbone.init_weights()
    text = UMGCLIPTextEncoder(model_name=TINY, checkpoint=str(umg))
    assert torch.equal(backbone.visual.proj, original['visual.proj'])
    assert torch.equal(text.clip.text_projection, original['text_projection'])


def test_lora_apart_needs_its_config_then_merges(tool, open_clip_file, tmp_path):
    backbone = UMGCLIPBackbone(model_name=TINY, checkpoint=open_clip_file, lora=dict(r=2, alpha=4),
                               out_type='global').eval()
    for name, param in backbone.named_parameters():
        if 'lora_B' in name:
            torch.nn.init.normal_(param, std=0.1)
    images = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        (expected,) = backbone(images)
    text = UMGCLIPTextEncoder(model_name=TINY, checkpoint=open_clip_file)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state.update({f'text_encoder.{k}': v for k, v in text.state_dict().items()})
    trained = tmp_path / 'trained.pth'
    torch.save({'state_dict': state}, trained)
    out = tmp_path / 'merged.pt'
    with pytest.raises(SystemExit):
        tool.main(['to-open-clip', str(trained), str(out)])
    assert not out.exists()
    assert tool.main(['to-open-clip', str(trained), str(out), '--model-name', TINY,
                      '--lora-r', '2', '--lora-alpha', '4']) == 0
    clip = build_open_clip(TINY).eval()
    clip.load_state_dict(torch.load(out))
    with torch.no_grad():
        torch.testing.assert_close(clip.encode_image(images), expected, rtol=1e-5, atol=1e-5)
