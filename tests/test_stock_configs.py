"""Stock mmdet, mmseg and mmpretrain configs with ``custom_imports=['umg_mm']`` and the UMG-CLIP
backbone swapped in build and run, in a fresh interpreter that never imports umg_mm itself (so the
config's ``custom_imports`` is what registers it)."""
import subprocess
import sys
import textwrap

import pytest

TINY_CLIP = dict(embed_dim=32,
                 vision_cfg=dict(image_size=64, layers=2, width=64, head_width=32, patch_size=8),
                 text_cfg=dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=2))

CASES = {
    # mmdet's Mask2Former panoptic: pixel decoder reads 4 levels with ResNet-50's channels
    'mmdet': dict(
        base='mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py',
        backbone=dict(type='UMGCLIPBackbone', model_cfg=TINY_CLIP, out_type='pyramid',
                      out_indices=(0, 0, 1, 1), pyramid_channels=[256, 512, 1024, 2048]),
        check='''
            from mmdet.structures import DetDataSample
            model.eval()
            sample = DetDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                                 batch_input_shape=(64, 64), pad_shape=(64, 64),
                                                 scale_factor=(1., 1.)))
            with torch.no_grad():
                feats = model.extract_feat(torch.randn(1, 3, 64, 64))
                result = model.predict(torch.randn(1, 3, 64, 64), [sample])[0]
            assert [f.shape[1] for f in feats] == [256, 512, 1024, 2048], feats
            assert [f.shape[-1] for f in feats] == [32, 16, 8, 4], feats
            assert result.pred_panoptic_seg.sem_seg.shape == (1, 64, 64)
        '''),
    # mmseg's Mask2Former ADE20K semantic config
    'mmseg': dict(
        base='mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py',
        backbone=dict(type='UMGCLIPBackbone', model_cfg=TINY_CLIP, out_type='pyramid',
                      out_indices=(0, 0, 1, 1), pyramid_channels=[256, 512, 1024, 2048]),
        check='''
            from mmseg.structures import SegDataSample
            model.eval()
            sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                                 pad_shape=(64, 64), batch_input_shape=(64, 64)))
            with torch.no_grad():
                result = model.predict(torch.randn(1, 3, 64, 64), [sample])[0]
            assert result.seg_logits.data.shape == (150, 64, 64), result.seg_logits.shape
            assert int(result.pred_sem_seg.data.max()) < 150
        '''),
    # mmpretrain's ViT ImageNet classifier, with the UMG-CLIP global embedding under a linear head
    'mmpretrain': dict(
        base='mmpretrain::vision_transformer/vit-base-p16_64xb64_in1k.py',
        backbone=dict(type='UMGCLIPBackbone', model_cfg=TINY_CLIP, out_type='global'),
        extra="model.update(neck=None, head=dict(_delete_=True, type='LinearClsHead', num_classes=10, "
              "in_channels=32, loss=dict(type='CrossEntropyLoss')))",
        check='''
            model.eval()
            with torch.no_grad():
                scores = model(torch.randn(2, 3, 64, 64), mode='tensor')
            assert scores.shape == (2, 10), scores.shape
        '''),
}


@pytest.mark.parametrize('library', sorted(CASES))
def test_stock_config_builds_with_umg_clip_backbone(library, tmp_path):
    case = CASES[library]
    config = tmp_path / f'{library}_umg.py'
    config.write_text(textwrap.dedent(f'''\
        _base_ = ['{case["base"]}']
        custom_imports = dict(imports=['umg_mm'], allow_failed_imports=False)
        model = dict(backbone=dict(_delete_=True, **{case["backbone"]!r}))
        ''') + (case.get('extra', '') + '\n'))
    script = textwrap.dedent(f'''\
        import sys, torch
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        import {library}.registry as lib_registry
        cfg = Config.fromfile({str(config)!r})
        assert 'umg_mm' in sys.modules, 'custom_imports had no effect'
        init_default_scope(cfg.default_scope)
        model = lib_registry.MODELS.build(cfg.model)
        assert type(model.backbone).__name__ == 'UMGCLIPBackbone'
        ''') + textwrap.dedent(case['check']) + 'print("OK")\n'
    assert '\nimport umg_mm' not in script
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith('OK'), \
        result.stdout[-2000:] + result.stderr[-4000:]
