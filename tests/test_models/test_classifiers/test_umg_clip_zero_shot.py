"""UMGCLIPZeroShot: mmpretrain's class lists and prompt sets, scores, vocabulary swap, errors."""
import open_clip
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmpretrain.datasets.categories import IMAGENET_SIMPLE_CATEGORIES
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import umg_mm  # noqa: F401
from umg_mm.models.classifiers import resolve_prompts, resolve_prototype
from umg_mm.models.utils import NANO_MODEL as TINY


def build(**kwargs):
    cfg = dict(type='UMGCLIPZeroShot',
               backbone=dict(type='UMGCLIPBackbone', model_name=TINY),
               text_encoder=dict(type='UMGCLIPTextEncoder', model_name=TINY),
               text_prototype=['cat', 'dog, puppy', 'car'], text_prompt='vanilla')
    cfg.update(kwargs)
    init_default_scope('mmpretrain')  # as a Runner of an mmpretrain config does
    torch.manual_seed(0)
    return MODELS.build(cfg).eval()


def test_mmpretrain_prototypes_and_prompts_resolve_to_its_own_lists():
    imagenet = resolve_prototype('imagenet')
    assert imagenet.class_names == list(IMAGENET_SIMPLE_CATEGORIES)
    assert len(set(imagenet.class_names)) == 998  # mmpretrain's list names two classes twice
    assert resolve_prompts('vanilla') == ('a photo of a {}',)
    assert resolve_prompts('openai_cifar100')[1] == 'a blurry photo of a {}.'
    assert len(resolve_prompts('imagenet80')) == 80  # umg_mm's sets work too
    assert resolve_prompts(None) is None
    assert resolve_prototype(['a', 'b, c']).synonyms == (('a',), ('b', 'c'))
    with pytest.raises(ValueError, match='repeats line 1'):
        resolve_prototype(['cat', 'cat'])
    with pytest.raises(FileNotFoundError, match='neither a file nor a shipped vocabulary'):
        resolve_prototype('no_such_vocabulary.txt')
    with pytest.raises(ValueError, match='exactly one'):
        resolve_prompts(['a photo'])


def test_scores_are_the_softmax_of_scaled_cosines():
    model = build()
    images = torch.randn(2, 3, 32, 32)
    logits = model(images, mode='tensor')
    image = F.normalize(model.backbone(images)[0], dim=-1)
    prompts = model.text_encoder.encode_text(
        ['a photo of a cat', 'a photo of a dog', 'a photo of a puppy', 'a photo of a car'])
    classes = F.normalize(torch.stack([prompts[0], prompts[1] + prompts[2], prompts[3]]), dim=-1)
    expected = model.text_encoder.logit_scale.exp() * image @ classes.T
    torch.testing.assert_close(logits, expected)
    samples = model(images, [DataSample(), DataSample()], mode='predict')
    torch.testing.assert_close(samples[1].pred_score, expected[1].softmax(-1))
    assert int(samples[1].pred_label) == int(expected[1].argmax())


def test_vocabulary_swap_and_errors():
    model = build()
    assert model.num_classes == 3
    assert model.set_vocabulary('pascal_voc_20') is model.vocabulary
    assert model(torch.randn(1, 3, 32, 32), mode='tensor').shape == (1, 20)
    with pytest.raises(ValueError, match='no thing/stuff split'):
        model.set_vocabulary(['cat'], stuff=['sky'])
    with pytest.raises(RuntimeError, match='invalid mode'):
        model(torch.randn(1, 3, 32, 32), mode='features')
    with pytest.raises(ValueError, match="collate_fn=dict\\(type='default_collate'\\)"):
        model(torch.randn(3, 2, 32, 32), mode='tensor')  # (3, B, H, W) of pseudo_collate
    with pytest.raises(KeyError, match='no gt_label'):
        model.loss(torch.randn(1, 3, 32, 32), [DataSample()])
    with pytest.raises(ValueError, match='out of range for the 20 classes'):
        model.loss(torch.randn(1, 3, 32, 32), [DataSample().set_gt_label(20)])
    other = dict(open_clip.get_model_config(TINY), embed_dim=16)
    with pytest.raises(ValueError, match='same CLIP model'):
        build(text_encoder=dict(type='UMGCLIPTextEncoder', model_cfg=other))


def test_default_parts_are_mmpretrains_whatever_the_default_scope():
    init_default_scope('mmdet')  # mmdet has its own CrossEntropyLoss, with another signature
    model = MODELS.build(dict(type='mmpretrain.UMGCLIPZeroShot',
                              backbone=dict(type='UMGCLIPBackbone', model_name=TINY),
                              text_encoder=dict(type='UMGCLIPTextEncoder', model_name=TINY),
                              text_prototype=['cat', 'car']))
    assert type(model.head.loss_module).__module__.startswith('mmpretrain.')
    assert type(model.data_preprocessor).__name__ == 'MultiModalDataPreprocessor'
