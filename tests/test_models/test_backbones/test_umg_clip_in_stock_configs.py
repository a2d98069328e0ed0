"""UMGCLIPBackbone inside stock mmseg, mmdet and mmpretrain model configs (built by ``type=``)."""
import importlib
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import umg_mm  # noqa: F401
from umg_mm.models.utils import NANO_MODEL as TINY


def stock_config(package: str, path: str) -> Config:
    """A model config that the installed OpenMMLab package ships under ``.mim/configs``."""
    root = osp.dirname(importlib.import_module(package).__file__)
    return Config.fromfile(osp.join(root, '.mim', 'configs', path))


def test_mmseg_upernet_vit_config_with_umg_backbone():
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = stock_config('mmseg', '_base_/models/upernet_vit-b16_ln_mln.py')
    bn = dict(type='BN', requires_grad=True)
    cfg.model.pretrained = None
    cfg.model.backbone = dict(type='UMGCLIPBackbone', model_name=TINY, out_type='intermediates',
                              out_indices=(0, 0, 1, 1))
    cfg.model.neck.update(in_channels=[64] * 4, out_channels=64)
    cfg.model.decode_head.update(in_channels=[64] * 4, channels=32, norm_cfg=bn)
    cfg.model.auxiliary_head.update(in_channels=64, channels=16, norm_cfg=bn)
    segmentor = MODELS.build(cfg.model).eval()
    clip_weights = {k: v.clone() for k, v in segmentor.backbone.visual.state_dict().items()}
    segmentor.init_weights()  # as the Runner does: the heads initialise, CLIP weights stay
    for key, value in segmentor.backbone.visual.state_dict().items():
        assert torch.equal(value, clip_weights[key]), key
    logits = segmentor(torch.randn(2, 3, 64, 48), mode='tensor')
    assert logits.shape == (2, 19, 32, 24)  # UPerHead predicts at stride p / 4 = 2


def test_mmdet_retinanet_config_with_umg_pyramid():
    """The pyramid neck and the stock FPN, one after the other in the neck slot."""
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = stock_config('mmdet', '_base_/models/retinanet_r50_fpn.py')
    cfg.model.backbone = dict(type='UMGCLIPBackbone', model_name=TINY, out_type='intermediates')
    fpn = dict(cfg.model.neck, in_channels=[16, 32, 48, 64], out_channels=32, start_level=0)
    cfg.model.neck = [dict(type='CLIPPyramidNeck', embed_dim=64, norm_cfg=dict(type='BN'),
                           out_channels=[16, 32, 48, 64]), fpn]
    cfg.model.bbox_head.update(num_classes=3, in_channels=32, feat_channels=32)
    detector = MODELS.build(cfg.model).eval()
    cls_scores, _ = detector(torch.randn(1, 3, 64, 64), mode='tensor')
    assert [tuple(s.shape[-2:]) for s in cls_scores] == [(32, 32), (16, 16), (8, 8), (4, 4),
                                                         (2, 2)]


def test_mmpretrain_image_classifier_config_with_umg_global_embedding():
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = stock_config('mmpretrain', '_base_/models/resnet18.py')
    cfg.model.backbone = dict(type='UMGCLIPBackbone', model_name=TINY, out_type='global')
    cfg.model.neck = None
    cfg.model.head.update(num_classes=5, in_channels=32)
    classifier = MODELS.build(cfg.model).eval()
    assert classifier(torch.randn(2, 3, 32, 32), mode='tensor').shape == (2, 5)
