"""UMGCLIPBackbone on an open_clip tower built from timm (EVA02): equality, any size, tuning."""
import pytest
import torch

import umg_mm  # noqa: F401
from umg_mm.models.backbones import UMGCLIPBackbone
from umg_mm.models.utils import build_open_clip

#: open_clip's EVA02 recipe (timm trunk, token pooling, the trunk's head as projection), tiny
EVA_TINY = dict(
    embed_dim=32,
    vision_cfg=dict(image_size=224, timm_model_name='eva02_tiny_patch14_224', timm_pool='token',
                    timm_proj=None),
    text_cfg=dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1),
    custom_text=True)


@pytest.fixture(scope='module')
def eva_and_file(tmp_path_factory):
    torch.manual_seed(0)
    clip = build_open_clip(model_cfg=EVA_TINY).eval()
    path = tmp_path_factory.mktemp('eva') / 'eva_open_clip.pt'
    torch.save(clip.state_dict(), path)
    return clip, str(path)


def test_global_equals_open_clip_and_any_size_works(eva_and_file):
    clip, path = eva_and_file
    backbone = UMGCLIPBackbone(model_cfg=EVA_TINY, checkpoint=path, out_type='dict').eval()
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        out = backbone(images)
        torch.testing.assert_close(out['global'], clip.encode_image(images))
        odd = backbone(torch.randn(1, 3, 100, 75))  # padded to 112 x 84: a 8 x 6 grid
    assert odd['global'].shape == (1, 32)
    assert odd['dense'].shape == (1, 32, 8, 6)
    assert [tuple(p.shape) for p in odd['intermediates']] == [(1, backbone.width, 8, 6)] * 4


def test_dense_tokens_are_the_pooled_path_per_token(eva_and_file):
    clip, path = eva_and_file
    backbone = UMGCLIPBackbone(model_cfg=EVA_TINY, checkpoint=path, out_type='dense').eval()
    trunk = clip.visual.trunk
    images = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        (dense,) = backbone(images)
        tokens = trunk.forward_features(images)[:, trunk.num_prefix_tokens:]
        expected = trunk.head(trunk.fc_norm(tokens)).transpose(1, 2).reshape(1, 32, 16, 16)
    torch.testing.assert_close(dense, expected)


def test_lora_and_frozen_stages_on_timm_blocks():
    tuned = UMGCLIPBackbone(model_cfg=EVA_TINY, lora=dict(r=4))
    trainable = [n for n, p in tuned.named_parameters() if p.requires_grad]
    assert trainable and all('lora_' in n for n in trainable)
    assert any('.attn.qkv.lora_A' in n for n in trainable)
    assert any('.mlp.fc1_g.lora_A' in n or '.mlp.fc1.lora_A' in n for n in trainable)
    partly = UMGCLIPBackbone(model_cfg=EVA_TINY, frozen_stages=2)  # stem + blocks 0, 1
    trainable = {n for n, p in partly.named_parameters() if p.requires_grad}
    assert not any(n.startswith(('visual.trunk.patch_embed', 'visual.trunk.blocks.0.',
                                 'visual.trunk.blocks.1.')) for n in trainable)
    assert any(n.startswith('visual.trunk.blocks.2.') for n in trainable)
    for readout in ('value', 'value_block'):
        with pytest.raises(NotImplementedError, match=f"dense_readout='{readout}'"):
            UMGCLIPBackbone(model_cfg=EVA_TINY, dense_readout=readout)
