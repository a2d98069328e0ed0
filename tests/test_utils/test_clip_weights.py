"""No silent random CLIP weights: tools/train.py refuses towers without a weights source unless
the config says ``checkpoint='random'``; the from-scratch recipes say so, the others refuse."""
import glob
import importlib.util
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from umg_mm.utils.clip_weights import check_clip_weights

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'umg', '*.py')) +
                 glob.glob(osp.join(ROOT, 'projects', '*', 'configs', '*.py')))
#: the recipes that train CLIP towers from random weights on purpose
FROM_SCRATCH = {'umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py',
                'umg-clip_vit-tiny_1xb32-2400it_synthetic-64x64.py',
                'fcn_umg-clip-vit-tiny_2xb4-8it_synthetic-64x64.py'}


def _tower_cfg(**tower):
    """A config named my_config.py with a UMGCLIPBackbone given ``tower``'s arguments."""
    model = dict(type='EncoderDecoder', backbone=dict(type='UMGCLIPBackbone', **tower),
                 decode_head=dict(type='FCNHead'))
    return Config(dict(model=model), cfg_text=f'model = {model!r}', filename='my_config.py')


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_shipped_configs_have_weights_or_say_random(path):
    cfg = Config.fromfile(path)
    if osp.basename(path) in FROM_SCRATCH:  # said once, for both towers where the model has two
        assert (cfg.model.clip if 'clip' in cfg.model else cfg.model.backbone).checkpoint == \
            'random'
    try:
        check_clip_weights(cfg)
    except ValueError as err:
        # a config without weights names the key that gives them and the way to go random
        assert osp.basename(path) not in FROM_SCRATCH
        assert f'config {path}: model.' in str(err) and "checkpoint='random'" in str(err)
    # a run that loads a checkpoint with the towers is never refused
    cfg.load_from = 'work_dirs/pretrained.pth'
    check_clip_weights(cfg)


def test_real_data_configs_refuse_random_towers():
    refused = []
    for path in CONFIGS:
        try:
            check_clip_weights(Config.fromfile(path))
        except ValueError:
            refused.append(osp.basename(path))
    assert {'umg-mask2former_vit-b16_8xb2-amp-60k_coco-stuff164k-640x640.py',
            'umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py',
            'umg-vit-b16-lora_mask2former_8xb2-160k_ade20k-512x512.py'} <= set(refused)


@pytest.mark.parametrize('source', [
    dict(checkpoint='umg_clip.pth'), dict(checkpoint=['base.pth', 'lora.pth']),
    dict(pretrained='laion2b_s34b_b88k'), dict(checkpoint='random'),
    dict(init_cfg=dict(type='Pretrained', checkpoint='umg_clip.pth'))])
def test_each_weights_source_is_accepted(source):
    check_clip_weights(_tower_cfg(**source))


def test_missing_weights_name_the_file_the_key_and_the_fixes():
    with pytest.raises(ValueError) as err:
        check_clip_weights(_tower_cfg(checkpoint=None))
    assert str(err.value).startswith(
        'config my_config.py: model.backbone (UMGCLIPBackbone) would train from random CLIP '
        'weights. Give it weights with --cfg-options model.backbone.checkpoint=')
    assert "set model.backbone.checkpoint='random'" in str(err.value)
    # the text tower anywhere in the model, under its own key
    cfg = _tower_cfg(checkpoint='umg_clip.pth')
    cfg.model.decode_head.classifier = dict(text_encoder=dict(type='umg_mm.UMGCLIPTextEncoder'))
    with pytest.raises(ValueError, match=r'model\.decode_head\.classifier\.text_encoder '
                                         r'\(umg_mm\.UMGCLIPTextEncoder\)'):
        check_clip_weights(cfg)
    # a model that names both towers' weights once, in model.clip: the error names that key
    cfg = _tower_cfg()
    cfg.model.clip = dict(model_name='ViT-B-16')
    cfg.model.text_encoder = dict(type='UMGCLIPTextEncoder')
    with pytest.raises(ValueError) as err:
        check_clip_weights(cfg)
    assert str(err.value).startswith(
        'config my_config.py: model.clip gives no weights, so model.backbone (UMGCLIPBackbone) '
        'would train from random CLIP weights. Give them with --cfg-options '
        'model.clip.checkpoint=')
    assert "set model.clip.checkpoint='random'" in str(err.value)
    for source in (dict(checkpoint='umg_clip.pth'), dict(pretrained='laion2b_s34b_b88k'),
                   dict(checkpoint='random')):
        cfg.model.clip.update(source)
        check_clip_weights(cfg)
    # mmseg's model-level pretrained reaches the backbone; resuming loads the towers
    cfg = _tower_cfg()
    cfg.model.pretrained = 'umg_clip.pth'
    check_clip_weights(cfg)
    cfg = _tower_cfg()
    cfg.resume = True
    check_clip_weights(cfg)


def _train_main(monkeypatch, *argv):
    spec = importlib.util.spec_from_file_location('train_tool', osp.join(ROOT, 'tools', 'train.py'))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    monkeypatch.setattr(sys, 'argv', ['train.py', *argv])
    train.main()


def test_train_tool_refuses_random_towers(monkeypatch, tmp_path):
    config = osp.join(ROOT, 'projects', 'umg_backbone_ade20k_semseg', 'configs',
                      'umg-vit-b16-lora_mask2former_8xb2-160k_ade20k-512x512.py')
    with pytest.raises(ValueError, match=r'model\.backbone \(UMGCLIPBackbone\) would train from '
                                         r'random CLIP weights'):
        _train_main(monkeypatch, config, '--work-dir', str(tmp_path))


def test_train_tool_on_a_cpu_names_the_fp32_config(monkeypatch, tmp_path):
    amp = osp.join(ROOT, 'configs', 'umg',
                   'umg-mask2former_vit-b16_8xb2-amp-60k_coco-stuff164k-640x640.py')
    fp32 = amp.replace('-amp', '')
    monkeypatch.setattr('umg_mm.utils.launch.get_device', lambda: 'cpu')
    with pytest.raises(RuntimeError, match=r'needs a GPU; this host has none\. Train in fp32 with '
                                           r'--cfg-options optim_wrapper\.type=OptimWrapper or '
                                           rf'train the fp32 config {fp32}'):
        _train_main(monkeypatch, amp, '--work-dir', str(tmp_path))
    assert Config.fromfile(fp32).optim_wrapper.type == 'OptimWrapper'
    assert Config.fromfile(amp).optim_wrapper.type == 'AmpOptimWrapper'
