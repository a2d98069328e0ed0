"""UMGCLIPBackbone: equality with open_clip, output shapes, registries, checkpoints, freezing."""
import copy
import importlib.util
import os.path as osp

import open_clip
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper

import umg_mm  # noqa: F401  (registers the backbone)
from umg_mm.models.backbones import UMGCLIPBackbone
from umg_mm.models.utils import NANO_MODEL as TINY
from umg_mm.models.utils import build_open_clip


@pytest.fixture(scope='module')
def clip_and_file(tmp_path_factory):
    """A tiny open_clip model with random weights, and its open_clip checkpoint file."""
    torch.manual_seed(0)
    clip = build_open_clip(TINY).eval()
    path = tmp_path_factory.mktemp('ckpt') / 'tiny_open_clip.pt'
    torch.save(clip.state_dict(), path)
    return clip, str(path)


def _randomise_lora(backbone):
    for name, param in backbone.named_parameters():
        if 'lora_B' in name:
            torch.nn.init.normal_(param, std=0.1)


def test_global_equals_open_clip_encode_image(clip_and_file):
    clip, path = clip_and_file
    backbone = UMGCLIPBackbone(model_name=TINY, checkpoint=path, out_type='global').eval()
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        (ours,) = backbone(images)
        theirs = clip.encode_image(images)
    assert ours.shape == (3, 32)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    # forward_intermediates gives the same global embedding, and block outputs like open_clip's
    with torch.no_grad():
        ours = backbone.forward_intermediates(images, indices=[0, 1])
        theirs = clip.visual.forward_intermediates(images, indices=[0, 1])
    torch.testing.assert_close(ours['image_features'], theirs['image_features'])
    for a, b in zip(ours['image_intermediates'], theirs['image_intermediates']):
        torch.testing.assert_close(a, b)
    # open_clip's argument names and meanings: the last n blocks, final norm, token layout
    kwargs = dict(indices=1, normalize_intermediates=True, intermediates_only=True,
                  output_fmt='NLC')
    with torch.no_grad():
        ours = backbone.forward_intermediates(images, stop_early=True, **kwargs)
        theirs = clip.visual.forward_intermediates(images, **kwargs)
    assert set(ours) == {'image_intermediates'}
    torch.testing.assert_close(ours['image_intermediates'][0], theirs['image_intermediates'][0])
    with pytest.raises(ValueError, match='outside 0..1'):
        backbone.forward_intermediates(images, indices=[2])


@pytest.mark.parametrize('size', [(32, 32), (37, 53), (17, 8)])
@pytest.mark.parametrize('readout', ['tokens', 'value', 'value_block'])
def test_dense_and_block_shapes_for_any_input_size(size, readout):
    backbone = UMGCLIPBackbone(model_name=TINY, out_type='dict', dense_readout=readout).eval()
    height, width = size
    h, w = -(-height // 8), -(-width // 8)  # padded to the patch size 8
    out = backbone(torch.randn(2, 3, height, width))
    assert out['global'].shape == (2, 32)
    assert out['dense'].shape == (2, 32, h, w)
    assert backbone.out_indices == (0, 0, 0, 1)  # four evenly spaced blocks, the last last
    assert [tuple(fmap.shape) for fmap in out['intermediates']] == [(2, 64, h, w)] * 4
    assert 'intermediates' not in UMGCLIPBackbone(model_name=TINY, out_type='dict',
                                                  out_indices=())(torch.randn(1, 3, 8, 8))


def test_padding_to_patch_multiple_is_zero_padding():
    backbone = UMGCLIPBackbone(model_name=TINY, out_type='dense').eval()
    image = torch.randn(1, 3, 30, 27)
    with torch.no_grad():
        (dense,) = backbone(image)
        (padded,) = backbone(F.pad(image, (0, 5, 0, 2)))
    torch.testing.assert_close(dense, padded)


def test_dense_tokens_readout_is_last_tokens_in_joint_space(clip_and_file):
    clip, path = clip_and_file
    backbone = UMGCLIPBackbone(model_name=TINY, checkpoint=path, out_type='dense').eval()
    images = torch.randn(2, 3, 32, 32)
    visual = clip.visual
    with torch.no_grad():
        (dense,) = backbone(images)
        tokens = visual.transformer(visual._embeds(images))[:, 1:]
        expected = (visual.ln_post(tokens) @ visual.proj).transpose(1, 2).reshape(2, 32, 4, 4)
    torch.testing.assert_close(dense, expected)


def test_dense_value_readout_is_last_value_path(clip_and_file):
    clip, path = clip_and_file
    backbone = UMGCLIPBackbone(model_name=TINY, checkpoint=path, out_type='dense',
                               dense_readout='value').eval()
    images = torch.randn(2, 3, 32, 32)
    visual = clip.visual
    last = visual.transformer.resblocks[-1]
    with torch.no_grad():
        (dense,) = backbone(images)
        x = visual.transformer.resblocks[0](visual._embeds(images))
        value_w = last.attn.in_proj_weight[128:]
        value_b = last.attn.in_proj_bias[128:]
        values = F.linear(last.ln_1(x), value_w, value_b)
        out = last.attn.out_proj(values)[:, 1:]
        expected = (visual.ln_post(out) @ visual.proj).transpose(1, 2).reshape(2, 32, 4, 4)
        (tokens_dense,) = UMGCLIPBackbone(model_name=TINY, checkpoint=path,
                                          out_type='dense').eval()(images)
    torch.testing.assert_close(dense, expected, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(dense, tokens_dense)


def test_dense_value_block_readout_is_last_block_with_value_attention(clip_and_file):
    """CLIPSelf's read-out: x + v(ln_1 x), then + mlp(ln_2 .), by hand from the weights."""
    clip, path = clip_and_file
    images = torch.randn(2, 3, 32, 32)
    visual = clip.visual
    last = visual.transformer.resblocks[-1]
    dense = {}
    with torch.no_grad():
        for readout in ('value_block', 'value', 'tokens'):
            (dense[readout],) = UMGCLIPBackbone(model_name=TINY, checkpoint=path,
                                                out_type='dense', dense_readout=readout
                                                ).eval()(images)
        x = visual.transformer.resblocks[0](visual._embeds(images))
        values = F.linear(last.ln_1(x), last.attn.in_proj_weight[128:],
                          last.attn.in_proj_bias[128:])
        x = x + last.attn.out_proj(values)
        x = x + last.mlp.c_proj(F.gelu(last.mlp.c_fc(last.ln_2(x))))
        expected = (visual.ln_post(x[:, 1:]) @ visual.proj).transpose(1, 2).reshape(2, 32, 4, 4)
    torch.testing.assert_close(dense['value_block'], expected, rtol=1e-4, atol=1e-5)
    for other in ('value', 'tokens'):
        assert not torch.allclose(dense['value_block'], dense[other], atol=1e-3), other
    with pytest.raises(ValueError, match='value_block'):
        UMGCLIPBackbone(model_name=TINY, dense_readout='values')


def test_out_indices_are_open_clip_indices():
    backbone = UMGCLIPBackbone(model_name=TINY, out_type='intermediates',
                               out_indices=(0, 0, 1, -1))
    assert backbone.out_indices == (0, 0, 1, 1)
    with torch.no_grad():
        maps = backbone(torch.randn(1, 3, 32, 32))
        blocks = backbone.forward_intermediates(torch.randn(1, 3, 32, 32), indices=2)
    assert [tuple(fmap.shape) for fmap in maps] == [(1, 64, 4, 4)] * 4
    torch.testing.assert_close(maps[0], maps[1])
    assert len(blocks['image_intermediates']) == 2  # an int: the last n blocks
    assert UMGCLIPBackbone(model_name=TINY, out_type='intermediates', out_indices=1).out_indices \
        == (1,)
    with pytest.raises(ValueError, match='outside 0..1'):
        UMGCLIPBackbone(model_name=TINY, out_type='intermediates', out_indices=(0, 1, 2, 5))


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
def test_builds_from_each_library_registry(scope):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    backbone = registry.build(dict(type='UMGCLIPBackbone', model_name=TINY,
                                   out_type='intermediates'))
    assert isinstance(backbone, UMGCLIPBackbone)
    assert len(backbone(torch.randn(1, 3, 32, 32))) == 4


def test_loads_mmengine_checkpoint_with_prefix_and_reports(clip_and_file, tmp_path):
    clip, path = clip_and_file
    source = UMGCLIPBackbone(model_name=TINY, checkpoint=path, out_type='dict')
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['decode_head.conv_seg.weight'] = torch.zeros(3)
    state['backbone.visual.not_a_layer'] = torch.zeros(1)
    file = tmp_path / 'iter_10.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': state}, file)
    target = UMGCLIPBackbone(model_name=TINY, out_type='dict')
    report = target.load_checkpoint(str(file))
    assert report.prefix == 'backbone.'
    assert report.unexpected == ['visual.not_a_layer']
    assert report.ignored == 1 and report.missing == []
    assert str(report).startswith(f"loaded {len(report.loaded)} tensors from {file} (prefix "
                                  f"'backbone.'); 0 missing, 1 unexpected")
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value)


def test_torchscript_archive_like_openai_files_loads_once_converted_with_trust(tmp_path):
    file = tmp_path / 'scripted.pt'
    torch.jit.save(torch.jit.script(build_open_clip(TINY).eval()), str(file))
    scripted = torch.jit.load(str(file))
    with pytest.raises(ValueError, match='TorchScript archive.*--trust-torchscript'):
        UMGCLIPBackbone(model_name=TINY, checkpoint=str(file))  # loading it would run its code
    spec = importlib.util.spec_from_file_location(
        'convert_open_clip', osp.join(osp.dirname(__file__), '..', '..', '..', 'tools',
                                      'convert_open_clip.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    converted = tmp_path / 'converted.pth'
    tool.main(['to-umg', str(file), str(converted), '--trust-torchscript'])
    backbone = UMGCLIPBackbone(model_name=TINY, checkpoint=str(converted),
                               out_type='global').eval()
    torch.testing.assert_close(backbone.visual.proj, scripted.visual.proj)


def test_shape_mismatch_is_an_error_naming_the_key(clip_and_file):
    _, path = clip_and_file
    wider = dict(open_clip.get_model_config(TINY), vision_cfg=dict(open_clip.get_model_config(TINY)['vision_cfg'], width=128))
    with pytest.raises(ValueError, match=r'shape mismatch for visual\.class_embedding'):
        UMGCLIPBackbone(model_cfg=wider, checkpoint=path)


def test_checkpoint_positional_embedding_resized_to_model_grid(clip_and_file):
    _, path = clip_and_file  # made at 32 px (4x4 grid)
    bigger = dict(open_clip.get_model_config(TINY), vision_cfg=dict(open_clip.get_model_config(TINY)['vision_cfg'], image_size=48))
    backbone = UMGCLIPBackbone(model_cfg=bigger, checkpoint=path)
    assert backbone.visual.positional_embedding.shape == (37, 64)


def test_file_without_visual_tower_is_a_clear_error(tmp_path):
    file = tmp_path / 'head_only.pth'
    torch.save({'state_dict': {'decode_head.conv_seg.weight': torch.zeros(3)}}, file)
    with pytest.raises(KeyError, match="no key ending in 'visual.conv1.weight'"):
        UMGCLIPBackbone(model_name=TINY, checkpoint=str(file))


def test_lora_checkpoints_apart_and_merged(clip_and_file, tmp_path):
    _, path = clip_and_file
    lora = dict(r=4, alpha=8)
    tuned = UMGCLIPBackbone(model_name=TINY, checkpoint=path, lora=lora, out_type='global').eval()
    _randomise_lora(tuned)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        (expected,) = tuned(images)
    apart = tmp_path / 'apart.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in tuned.state_dict().items()}}, apart)

    reloaded = UMGCLIPBackbone(model_name=TINY, lora=lora, checkpoint=str(apart),
                               out_type='global').eval()
    adapters = tmp_path / 'adapters.pth'
    torch.save(tuned.lora_state_dict(), adapters)
    assert all('lora_' in k for k in torch.load(adapters))
    shared = UMGCLIPBackbone(model_name=TINY, lora=lora, checkpoint=[path, str(adapters)],
                             out_type='global').eval()
    with pytest.raises(ValueError, match='LoRA adapters kept apart'):
        UMGCLIPBackbone(model_name=TINY, checkpoint=str(apart))

    tuned.merge_lora()
    assert not any('lora' in k or 'base_layer' in k for k in tuned.state_dict())
    merged = tmp_path / 'merged.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in tuned.state_dict().items()}}, merged)
    plain = UMGCLIPBackbone(model_name=TINY, checkpoint=str(merged), out_type='global').eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(images)[0], expected)
        torch.testing.assert_close(shared(images)[0], expected)
        torch.testing.assert_close(tuned(images)[0], expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(plain(images)[0], expected, rtol=1e-5, atol=1e-5)


def test_init_cfg_pretrained_loads_and_init_weights_keeps_weights(clip_and_file):
    clip, path = clip_and_file
    backbone = UMGCLIPBackbone(model_name=TINY, init_cfg=dict(type='Pretrained', checkpoint=path))
    backbone.init_weights()
    torch.testing.assert_close(backbone.visual.proj, clip.visual.proj)
    loaded = UMGCLIPBackbone(model_name=TINY, checkpoint=path)
    before = {k: v.clone() for k, v in loaded.state_dict().items()}
    loaded.init_weights()
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, before[key]), key
    with pytest.raises(ValueError, match='only init_cfg=dict\\(type="Pretrained"'):
        UMGCLIPBackbone(model_name=TINY, init_cfg=dict(type='Normal', layer='Conv2d'))


def test_pretrained_tag_errors_offline(monkeypatch):
    with pytest.raises(ValueError, match='not an open_clip pretrained tag'):
        UMGCLIPBackbone(model_name='ViT-B-16', pretrained='no_such_tag')

    def unreachable(*args, **kwargs):
        raise OSError('could not resolve host huggingface.co')

    monkeypatch.setattr(open_clip.factory, 'download_pretrained', unreachable)
    with pytest.raises(RuntimeError, match='checkpoint=<file>'):
        UMGCLIPBackbone(model_name='ViT-B-16', pretrained='laion2b_s34b_b88k')
    with pytest.raises(ValueError, match='not an open_clip model name'):
        UMGCLIPBackbone(model_name='ViT-Q-99')

    def hub_unreachable(*args, **kwargs):
        raise OSError('could not resolve host huggingface.co')

    monkeypatch.setattr(open_clip.factory, 'download_pretrained_from_hf', hub_unreachable)
    with pytest.raises(RuntimeError, match='local-dir:'):
        UMGCLIPBackbone(model_name='hf-hub:timm/ViT-B-16-SigLIP')


def test_mmseg_model_level_pretrained(clip_and_file):
    """mmseg's EncoderDecoder hands its model-level ``pretrained`` to the backbone: the stock
    URL is refused naming mmseg's key and the fix; a local file loads as a checkpoint."""
    from mmengine.config import ConfigDict
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    clip, path = clip_and_file
    init_default_scope('mmseg')
    segmentor = ConfigDict(
        type='EncoderDecoder',
        backbone=dict(type='UMGCLIPBackbone', model_name=TINY, out_type='intermediates',
                      out_indices=(1,)),
        decode_head=dict(type='FCNHead', in_channels=64, channels=8, num_convs=1,
                         num_classes=3, in_index=0))
    with pytest.raises(ValueError, match=r"pretrained='open-mmlab://resnet50_v1c'.*"
                       r"model-level `pretrained`.*model\.pretrained=None.*"
                       r"model\.backbone\.checkpoint="):
        MODELS.build(ConfigDict(copy.deepcopy(segmentor),
                                pretrained='open-mmlab://resnet50_v1c'))
    # (EncoderDecoder writes the model-level value into the backbone config: a fresh copy)
    model = MODELS.build(ConfigDict(copy.deepcopy(segmentor), pretrained=path))
    torch.testing.assert_close(model.backbone.visual.conv1.weight, clip.visual.conv1.weight)


def test_frozen_by_default_and_frozen_stages_as_in_mmdet():
    backbone = UMGCLIPBackbone(model_name=TINY, out_type='dict')  # frozen_stages='all'
    assert not any(p.requires_grad for p in backbone.parameters())

    # k: the stem and the first k blocks
    partly = UMGCLIPBackbone(model_name=TINY, frozen_stages=1).train()
    trainable = {n for n, p in partly.named_parameters() if p.requires_grad}
    assert 'visual.transformer.resblocks.1.mlp.c_fc.weight' in trainable
    assert 'visual.proj' in trainable
    assert not any(n.startswith(('visual.conv1', 'visual.transformer.resblocks.0'))
                   for n in trainable)
    assert not partly.visual.transformer.resblocks[0].training
    assert partly.visual.transformer.resblocks[1].training

    # 0: the stem only
    stem = UMGCLIPBackbone(model_name=TINY, frozen_stages=0)
    frozen = {n for n, p in stem.named_parameters() if not p.requires_grad}
    assert frozen == {'visual.conv1.weight', 'visual.class_embedding',
                      'visual.positional_embedding', 'visual.ln_pre.weight', 'visual.ln_pre.bias'}

    # -1: nothing
    everything = UMGCLIPBackbone(model_name=TINY, frozen_stages=-1)
    assert all(p.requires_grad for p in everything.parameters())
    everything.lock()
    assert not any(p.requires_grad for p in everything.parameters())

    # the number of blocks: the head too, as 'all' (TINY has 2 blocks)
    whole = UMGCLIPBackbone(model_name=TINY, frozen_stages=2, out_type='dense')
    assert not any(p.requires_grad for p in whole.parameters())
    for bad in (3, -2, 'none', True):
        with pytest.raises(ValueError, match=f'frozen_stages={bad!r}'):
            UMGCLIPBackbone(model_name=TINY, frozen_stages=bad)
    with pytest.raises(ValueError, match="leave frozen_stages='all'"):
        UMGCLIPBackbone(model_name=TINY, frozen_stages=-1, lora=dict(r=4))


@pytest.mark.parametrize('stock_value', [-1, 0, 1])
def test_stock_frozen_stages_means_what_it_means_in_mmdet(stock_value):
    """mmdet's ResNet and UMGCLIPBackbone read the same value the same way: -1 trains
    everything (the value stock mmdet Mask2Former configs carry), 0 freezes the stem, k the stem
    and the first k stages (blocks)."""
    from mmdet.models.backbones import ResNet
    from mmengine.hub import get_config
    stock = get_config('mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py')
    assert stock.model.backbone.frozen_stages == -1
    resnet = ResNet(depth=18, frozen_stages=stock_value)
    ours = UMGCLIPBackbone(model_name=TINY, frozen_stages=stock_value, out_type='dense')

    def frozen(named, prefixes):
        return [all(not p.requires_grad for n, p in named if n.startswith(prefix))
                for prefix in prefixes]

    resnet_parts = frozen(list(resnet.named_parameters()), ('conv1', 'layer1.', 'layer2.'))
    our_parts = frozen(list(ours.named_parameters()),
                       ('visual.conv1', 'visual.transformer.resblocks.0.',
                        'visual.transformer.resblocks.1.'))
    assert our_parts == resnet_parts == [stock_value >= 0, stock_value >= 1, False]


def test_grad_checkpointing_gives_same_gradients():
    torch.manual_seed(1)
    images = torch.randn(2, 3, 32, 32)
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        backbone = UMGCLIPBackbone(model_name=TINY, frozen_stages=0, out_type='dense',
                                   grad_checkpointing=checkpointing)
        backbone(images)[0].sum().backward()
        grads.append(backbone.visual.conv1.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_lora_trains_only_adapters_through_stock_optim_wrapper():
    backbone = UMGCLIPBackbone(model_name=TINY, lora=dict(r=4), out_type='dense')
    optim_wrapper = build_optim_wrapper(backbone, dict(optimizer=dict(type='AdamW', lr=0.1)))
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    loss = backbone(torch.randn(2, 3, 32, 32))[0].square().mean()
    optim_wrapper.update_params(loss)
    loss = backbone(torch.randn(2, 3, 32, 32))[0].square().mean()
    optim_wrapper.update_params(loss)
    after = backbone.state_dict()
    lora_keys = [k for k in after if 'lora_' in k]
    assert lora_keys and all(not torch.allclose(after[k], before[k]) for k in lora_keys
                             if 'lora_B' in k)
    # base weights stay put (peft's attention adapter merges and unmerges around each forward,
    # which may move them by float rounding only)
    for key in set(after) - set(lora_keys):
        torch.testing.assert_close(after[key], before[key], rtol=0, atol=1e-6)
    stepped = [p for p in optim_wrapper.optimizer.state if optim_wrapper.optimizer.state[p]]
    assert stepped and all(p.requires_grad for p in stepped)


def test_lora_on_vit_b_16_trains_under_two_percent():
    backbone = UMGCLIPBackbone(model_name='ViT-B-16', lora=dict(r=8, alpha=16))
    total = sum(p.numel() for p in backbone.parameters())
    trainable = sum(p.numel() for p in backbone.parameters() if p.requires_grad)
    assert 85e6 < total < 88e6
    assert 0 < trainable / total < 0.02


def test_value_readout_with_lora_apart_equals_merged(clip_and_file):
    _, path = clip_and_file
    backbone = UMGCLIPBackbone(model_name=TINY, checkpoint=path, lora=dict(r=2),
                               out_type='dense', dense_readout='value').eval()
    _randomise_lora(backbone)
    images = torch.randn(1, 3, 40, 24)
    with torch.no_grad():
        (apart,) = backbone(images)
        backbone.merge_lora()
        (merged,) = backbone(images)
    torch.testing.assert_close(apart, merged, rtol=1e-5, atol=1e-5)


def test_lora_on_attention_survives_mmengine_init_weights():
    """mmengine tracks parameters by identity; peft's attention adapter must keep them."""
    from mmengine.model import BaseModule

    class Parent(BaseModule):

        def __init__(self):
            super().__init__()
            self.backbone = UMGCLIPBackbone(model_name=TINY, out_type='dense',
                                            lora=dict(r=4, alpha=8))

    model = Parent()
    before = {name: id(p) for name, p in model.named_parameters()}
    model.init_weights()  # raised "Find a new Parameter" with peft's own attention adapter
    assert before == {name: id(p) for name, p in model.named_parameters()}
    model.backbone(torch.randn(1, 3, 32, 32))[0].sum().backward()
    # a forward swaps the frozen base weights (peft merges the adapter in); once restored they
    # stay the same objects from one call to the next
    after_forward = {name: id(p) for name, p in model.named_parameters()}
    assert after_forward == {name: id(p) for name, p in model.named_parameters()}
    attn_grads = [p.grad for name, p in model.named_parameters()
                  if 'attn' in name and 'lora_B' in name]
    assert attn_grads and all(g is not None and g.abs().sum() > 0 for g in attn_grads)


def test_dense_map_is_contiguous():
    """Compiled ops downstream (mmcv's RoIAlign) index their input as contiguous memory."""
    from umg_mm.models.backbones import UMGCLIPBackbone
    from umg_mm.models.utils import NANO_MODEL
    backbone = UMGCLIPBackbone(model_name=NANO_MODEL, out_type='dense')
    dense, = backbone(torch.randn(1, 3, 32, 48))
    assert dense.is_contiguous()
