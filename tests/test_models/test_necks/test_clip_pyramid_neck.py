"""CLIPPyramidNeck: mmseg's Feature2Pyramid on the backbone's blocks, in the model's neck slot."""
import pytest
import torch
import torch.nn.functional as F

import umg_mm  # noqa: F401  (registers the neck)
from umg_mm.models.backbones import UMGCLIPBackbone
from umg_mm.models.necks import CLIPPyramidNeck
from umg_mm.models.utils import NANO_MODEL
from umg_mm.registry import MODELS


@pytest.mark.parametrize('size', [(32, 32), (37, 53), (17, 8)])
def test_levels_at_strides_p_over_4_to_2p_for_any_input_size(size):
    backbone = UMGCLIPBackbone(model_name=NANO_MODEL, out_type='dict').eval()
    neck = MODELS.build(dict(type='CLIPPyramidNeck', embed_dim=64, norm_cfg=dict(type='BN'),
                             out_channels=[8, 16, 24, 32])).eval()
    height, width = size
    h, w = -(-height // 8), -(-width // 8)  # padded to the patch size 8
    with torch.no_grad():
        out = backbone(torch.randn(2, 3, height, width))
        levels = neck(out)  # the backbone's dict, as the models' extract_feat passes it
    assert [tuple(level.shape) for level in levels] == [
        (2, 8, 4 * h, 4 * w), (2, 16, 2 * h, 2 * w), (2, 24, h, w),
        (2, 32, -(-h // 2), -(-w // 2))]  # an odd grid keeps its last row and column


def test_levels_are_feature2pyramid_then_1x1_convolutions():
    torch.manual_seed(0)
    neck = CLIPPyramidNeck(embed_dim=16, norm_cfg=dict(type='BN'), out_channels=4).eval()
    maps = [torch.randn(1, 16, 3, 5) for _ in range(4)]
    with torch.no_grad():
        levels = neck(maps)
        up4 = neck.proj[0](neck.upsample_4x(maps[0]))
        same = neck.proj[2](maps[2])
        down = neck.proj[3](F.max_pool2d(F.pad(maps[3], (0, 1, 0, 1), mode='replicate'), 2))
    torch.testing.assert_close(levels[0], up4)
    torch.testing.assert_close(levels[2], same)
    torch.testing.assert_close(levels[3], down)
    assert CLIPPyramidNeck(embed_dim=16, norm_cfg=dict(type='BN')).proj is None


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match='one value per level'):
        CLIPPyramidNeck(embed_dim=16, out_channels=[4, 8])
    neck = CLIPPyramidNeck(embed_dim=16, norm_cfg=dict(type='BN'))
    with pytest.raises(ValueError, match='as many out_indices'):
        neck([torch.randn(1, 16, 2, 2)] * 3)
