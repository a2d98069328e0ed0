"""UMGCLIPTextEncoder: equality with open_clip, prompt ensembling, cache, checkpoints, LoRA."""
import open_clip
import pytest
import torch
from mmengine.logging import MMLogger

import umg_mm  # noqa: F401  (registers the text encoder)
from umg_mm.structures import load_vocabulary
from umg_mm.models.text import TEMPLATE_SETS, UMGCLIPTextEncoder, load_templates
from umg_mm.models.utils import NANO_MODEL as TINY
from umg_mm.models.utils import build_open_clip
from umg_mm.registry import MODELS


@pytest.fixture(scope='module')
def clip_and_file(tmp_path_factory):
    torch.manual_seed(0)
    clip = build_open_clip(TINY).eval()
    path = tmp_path_factory.mktemp('ckpt') / 'tiny_open_clip.pt'
    torch.save(clip.state_dict(), path)
    return clip, str(path)


@pytest.fixture
def encoder(clip_and_file):
    return UMGCLIPTextEncoder(model_name=TINY, checkpoint=clip_and_file[1],
                              templates='imagenet7').eval()


def count_tower_calls(encoder):
    calls = []
    encoder.clip.transformer.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    return calls


def test_encode_text_equals_open_clip_and_encodes_each_string_once(clip_and_file, encoder):
    clip, _ = clip_and_file
    tokenizer = open_clip.SimpleTokenizer(context_length=16)
    texts = ['a dog', 'a cat on a mat', 'a dog', 'a dog', 'grass']
    calls = count_tower_calls(encoder)
    with torch.no_grad():
        ours = encoder(texts)
        theirs = clip.encode_text(tokenizer(texts), normalize=True)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert calls == [3]  # three distinct strings, one batch


def test_prompts_are_cut_after_their_end_token_with_the_same_result(clip_and_file, encoder):
    clip, _ = clip_and_file
    tokenizer = open_clip.SimpleTokenizer(context_length=16)
    texts = ['a dog', 'a photo of a very large and friendly dog on the green grass in the park']
    lengths = []
    encoder.clip.transformer.register_forward_hook(lambda m, i, o: lengths.append(i[0].shape))
    encoder.batch_size = 1
    with torch.no_grad():
        ours = encoder.encode_text(texts)
        theirs = clip.encode_text(tokenizer(texts), normalize=True)
    assert [tuple(shape[:2]) for shape in lengths] == [(1, 4), (1, 16)]  # SOT a dog EOT; all
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


def test_classifier_equals_open_clip_zero_shot_classifier(clip_and_file, encoder):
    clip, _ = clip_and_file
    tokenizer = open_clip.SimpleTokenizer(context_length=16)
    names = ['dog', 'cat', 'tree', 'sky']
    with torch.no_grad():
        theirs = open_clip.build_zero_shot_classifier(
            clip, tokenizer, names, TEMPLATE_SETS['imagenet7'], num_classes_per_batch=None).T
    torch.testing.assert_close(encoder.classifier(names), theirs, rtol=1e-5, atol=1e-6)


def test_synonyms_average_their_prompts(encoder):
    both = encoder.classifier([('sofa', 'couch')], templates='single')
    each = encoder.encode_text(['a photo of a sofa.', 'a photo of a couch.'])
    torch.testing.assert_close(both[0], torch.nn.functional.normalize(each.mean(0), dim=0))


def test_unchanged_vocabulary_is_never_reencoded(encoder):
    calls = count_tower_calls(encoder)
    first = encoder.classifier('pascal_voc_20')
    assert len(calls) == 1
    again = encoder.classifier('pascal_voc_20')
    again_from_file = encoder.classifier(load_vocabulary('pascal_voc_20').source)
    assert len(calls) == 1 and again is first and again_from_file is first
    encoder.classifier('pascal_voc_20', templates='single')  # other templates: new entry
    assert len(calls) == 2
    encoder.load_state_dict(encoder.state_dict())  # new weights version
    encoder.classifier('pascal_voc_20')
    assert len(calls) == 3


def test_trainable_text_tower_is_not_cached_in_training(clip_and_file):
    encoder = UMGCLIPTextEncoder(model_name=TINY, checkpoint=clip_and_file[1], frozen=False,
                                 templates='single')
    calls = count_tower_calls(encoder)
    weights = encoder.classifier(['dog', 'cat'])
    assert weights.requires_grad
    encoder.classifier(['dog', 'cat'])
    assert len(calls) == 2
    with torch.no_grad():
        encoder.classifier(['dog', 'cat'])
        encoder.classifier(['dog', 'cat'])
    assert len(calls) == 3


def test_builds_from_registry_and_loads_prefixed_checkpoint(clip_and_file, tmp_path):
    clip, _ = clip_and_file
    source = UMGCLIPTextEncoder(model_name=TINY, checkpoint=clip_and_file[1])
    state = {f'text_encoder.{k}': v for k, v in source.state_dict().items()}
    file = tmp_path / 'pretrain.pth'
    torch.save({'state_dict': state}, file)
    built = MODELS.build(dict(type='UMGCLIPTextEncoder', model_name=TINY, checkpoint=str(file)))
    assert built.embed_dim == 32
    torch.testing.assert_close(built.clip.text_projection, clip.text_projection)
    wide = dict(open_clip.get_model_config(TINY), text_cfg=dict(open_clip.get_model_config(TINY)['text_cfg'], width=64, heads=4))
    with pytest.raises(ValueError, match='shape mismatch for .*'):
        UMGCLIPTextEncoder(model_cfg=wide, checkpoint=clip_and_file[1])


def test_text_lora_trains_only_adapters_merges_and_shares(clip_and_file, tmp_path):
    encoder = UMGCLIPTextEncoder(model_name=TINY, checkpoint=clip_and_file[1], lora=dict(r=2))
    trainable = [n for n, p in encoder.named_parameters() if p.requires_grad]
    assert trainable and all('lora_' in n for n in trainable)
    for name, param in encoder.named_parameters():
        if 'lora_B' in name:
            torch.nn.init.normal_(param, std=0.1)
    encoder.classifier(['dog'], templates='single').sum().backward()
    assert all(p.grad is not None for n, p in encoder.named_parameters() if 'lora_A' in n)
    encoder.eval()
    with torch.no_grad():
        expected = encoder.encode_text(['a dog', 'a cat'])
    adapters = tmp_path / 'text_adapters.pth'
    torch.save(encoder.lora_state_dict(), adapters)
    shared = UMGCLIPTextEncoder(model_name=TINY, lora=dict(r=2),
                                checkpoint=[clip_and_file[1], str(adapters)])
    encoder.merge_lora()
    assert not any('lora_' in k for k in encoder.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(shared.eval().encode_text(['a dog', 'a cat']), expected)
        torch.testing.assert_close(encoder.encode_text(['a dog', 'a cat']), expected,
                                   rtol=1e-5, atol=1e-5)


def test_templates_sets_files_and_errors(tmp_path):
    assert len(load_templates('imagenet80')) == 80
    assert load_templates('imagenet80')[0] == 'a bad photo of a {}.'
    file = tmp_path / 'mine.txt'
    file.write_text('# my prompts\na sketch of a {}.\n\nan aerial view of the {}.\n')
    assert load_templates(str(file)) == ('a sketch of a {}.', 'an aerial view of the {}.')
    with pytest.raises(ValueError, match=r'template 1 of <list>'):
        load_templates(['no slot here'])
    with pytest.raises(FileNotFoundError, match='neither a set'):
        load_templates('imagenet81')


def test_custom_text_tower_as_in_eva_models(tmp_path):
    config = dict(open_clip.get_model_config(TINY), custom_text=True)  # open_clip's CustomTextCLIP layout: keys 'text.*'
    torch.manual_seed(0)
    clip = build_open_clip(model_cfg=config).eval()
    file = tmp_path / 'custom_text.pt'
    torch.save(clip.state_dict(), file)
    encoder = UMGCLIPTextEncoder(model_cfg=config, checkpoint=str(file)).eval()
    report = encoder.load_checkpoint(str(file))
    assert report.prefix == '' and not report.missing and not report.unexpected
    tokenizer = open_clip.SimpleTokenizer(context_length=16)
    with torch.no_grad():
        torch.testing.assert_close(encoder.encode_text(['a red star']),
                                   clip.encode_text(tokenizer(['a red star']), normalize=True))
    assert encoder.embed_dim == 32


def test_towers_from_one_checkpoint_reproduce_open_clip_zero_shot_logits(clip_and_file):
    from umg_mm.models.backbones import UMGCLIPBackbone
    clip, path = clip_and_file
    backbone = UMGCLIPBackbone(model_name=TINY, checkpoint=path, out_type='global').eval()
    text = UMGCLIPTextEncoder(model_name=TINY, checkpoint=path, templates='single').eval()
    images = torch.randn(3, 3, 32, 32)
    tokenizer = open_clip.SimpleTokenizer(context_length=16)
    names = ['dog', 'cat', 'tree']
    with torch.no_grad():
        ours = torch.nn.functional.normalize(backbone(images)[0], dim=-1) @ \
            text.classifier(names).T
        theirs, _ = clip.get_logits(images, tokenizer([f'a photo of a {n}.' for n in names]))
    torch.testing.assert_close(ours * text.logit_scale.exp(), theirs, rtol=1e-4, atol=1e-4)


def test_texts_cut_to_the_context_length_are_counted_and_reported_once(encoder, monkeypatch):
    warnings = []
    monkeypatch.setattr(encoder, '_truncation_reported', False)
    logger = MMLogger.get_current_instance()
    monkeypatch.setattr(logger, 'warning', warnings.append)
    long_caption = 'a red star ' * 10_000  # 100,000 characters
    context = encoder.tokenizer(['x']).shape[1]
    with torch.no_grad():
        encoder.encode_text([long_caption, 'a dog', long_caption + 'b'])
        encoder.encode_text([long_caption + 'c', 'a cat'])
    assert encoder.num_truncated == 3
    [message] = warnings
    assert f'2 of 3 texts reach the context length ({context} tokens)' in message
    assert 'reported once per run' in message
