"""OpenVocabClassifier: shapes, cosine logits, void class, vocabulary swap, no re-encoding."""
import pytest
import torch
import torch.nn.functional as F

import umg_mm  # noqa: F401  (registers the classifier)
from umg_mm.models.heads import OpenVocabClassifier
from umg_mm.models.utils import NANO_MODEL as TINY
from umg_mm.registry import MODELS

TEXT_ENCODER = dict(type='UMGCLIPTextEncoder', model_name=TINY, templates='single')


@pytest.fixture(scope='module')
def text_encoder():
    torch.manual_seed(0)
    return MODELS.build(TEXT_ENCODER)


@pytest.fixture(scope='module')
def classifier(text_encoder):
    torch.manual_seed(0)
    classifier = MODELS.build(dict(type='OpenVocabClassifier', in_channels=16,
                                   embed_dim=text_encoder.embed_dim,
                                   vocabulary=['cat', 'dog, puppy', 'sky']))
    classifier.set_text_encoder(text_encoder)
    return classifier


def test_the_text_tower_is_referenced_not_owned(classifier, text_encoder):
    """The model that owns the text tower stores its weights; the classifier none of them."""
    assert classifier.embed_vocabulary.__self__ is text_encoder
    assert sorted(classifier.state_dict()) == ['logit_scale', 'proj.bias', 'proj.weight',
                                               'void_embedding']
    unbound = MODELS.build(dict(type='OpenVocabClassifier', in_channels=16, embed_dim=32,
                                vocabulary=['cat']))
    with pytest.raises(RuntimeError, match='set_text_encoder'):
        unbound(torch.randn(1, 2, 16))
    with pytest.raises(TypeError, match="model's UMGCLIPTextEncoder of the same embed_dim"):
        unbound.set_text_encoder(TEXT_ENCODER)


def test_logits_are_scaled_cosines_with_classes_then_void(classifier, text_encoder):
    queries = torch.randn(2, 5, 16)
    logits = classifier(queries)
    assert logits.shape == (2, 5, 4)
    q = F.normalize(classifier.proj(queries), dim=-1)
    classes = text_encoder.classifier(classifier.vocabulary)
    void = F.normalize(classifier.void_embedding, dim=-1)
    scale = classifier.logit_scale.exp()
    assert torch.allclose(logits[..., :3], scale * q @ classes.t(), atol=1e-5)
    assert torch.allclose(logits[..., 3], scale * q @ void, atol=1e-5)
    assert logits.abs().max() <= scale + 1e-4  # cosines are bounded


def test_vocabulary_swap_changes_the_number_of_classes(classifier):
    old = classifier.vocabulary
    classifier.set_vocabulary(['circle', 'square', 'grass', 'water', 'sand'])
    try:
        assert classifier.num_classes == 5
        assert classifier(torch.randn(1, 3, 16)).shape == (1, 3, 6)
    finally:
        classifier.set_vocabulary(old)
    assert classifier(torch.randn(1, 3, 16)).shape == (1, 3, 4)


def test_class_embeddings_are_encoded_once_per_vocabulary(classifier, text_encoder):
    calls = []
    handle = text_encoder.clip.transformer.register_forward_hook(
        lambda m, i, o: calls.append(1))
    try:
        classifier.set_vocabulary(['red', 'green'])
        for _ in range(3):
            out = classifier(torch.randn(1, 2, 16))
        assert len(calls) == 1
        out.sum().backward()  # training the head does not train or re-encode the text tower
        classifier(torch.randn(1, 2, 16))
        assert len(calls) == 1
        assert classifier.proj.weight.grad is not None and classifier.void_embedding.grad is not None
        assert all(p.grad is None for p in text_encoder.parameters())
    finally:
        handle.remove()


def test_logit_scale_is_clamped_and_can_be_frozen(text_encoder):
    clf = OpenVocabClassifier(8, text_encoder.embed_dim, vocabulary=['a', 'b'],
                              logit_scale_init=1000., learn_logit_scale=False, max_logit_scale=50.)
    clf.set_text_encoder(text_encoder)
    assert not clf.logit_scale.requires_grad
    assert clf(torch.randn(1, 1, 8)).abs().max() <= 50. + 1e-4


def test_errors_name_the_problem(text_encoder):
    clf = OpenVocabClassifier(8, text_encoder.embed_dim)
    clf.set_text_encoder(text_encoder)
    with pytest.raises(RuntimeError, match='set_vocabulary'):
        clf(torch.randn(1, 1, 8))
    clf.set_vocabulary(['a'])
    with pytest.raises(ValueError, match='in_channels'):
        clf(torch.randn(1, 1, 9))
    with pytest.raises(FileNotFoundError, match='shipped'):
        clf.set_vocabulary('no_such_benchmark')
