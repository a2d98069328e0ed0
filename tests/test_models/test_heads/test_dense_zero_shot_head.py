"""DenseZeroShotHead: per-pixel cosine between dense CLIP embeddings and class text embeddings."""
import pytest
import torch
import torch.nn.functional as F

import umg_mm  # noqa: F401
from umg_mm.models.backbones import UMGCLIPBackbone
from umg_mm.models.heads import DenseZeroShotHead
from umg_mm.models.text import UMGCLIPTextEncoder
from umg_mm.models.utils import NANO_MODEL


def test_scores_are_scaled_cosines_upsampled():
    torch.manual_seed(0)
    backbone = UMGCLIPBackbone(model_name=NANO_MODEL, out_type='dict', out_indices=())
    text = UMGCLIPTextEncoder(model_name=NANO_MODEL, templates='single')
    head = DenseZeroShotHead(text, vocabulary=['circle', 'star', 'sky'], logit_scale=10.)
    feats = backbone(torch.randn(2, 3, 32, 32))
    scores = head(feats)
    dense = F.normalize(feats['dense'], dim=1)  # (2, D, 4, 4)
    classes = text.classifier(['circle', 'star', 'sky'], 'single')
    expected = 10. * torch.einsum('bdhw,kd->bkhw', dense, classes)
    torch.testing.assert_close(scores, expected)
    meta = dict(img_shape=(32, 32), batch_input_shape=(32, 32))
    logits = head.predict(feats, [meta, meta], {})
    assert logits.shape == (2, 3, 32, 32)
    head.set_vocabulary(['a', 'b', 'c', 'd', 'e'])
    assert head.predict(feats, [meta, meta], {}).shape == (2, 5, 32, 32)
    assert head.out_channels == 5
    with pytest.raises(RuntimeError, match='training-free'):
        head.loss(feats, [], {})
