"""UMGZeroShotInferencer (mmpretrain's ImageClassificationInferencer) for UMGCLIPZeroShot: top-k
classes over a vocabulary given per call."""
import numpy as np
import torch

from tests.test_apis.tiny_models import SEEN
from .helpers import PERM, REORDERED, VOCAB


def test_top_k_labels_and_scores(inferencers, images):
    inferencer = inferencers['zero_shot']
    out = inferencer(images, topk=3, return_datasamples=True)
    assert out['classes'] == SEEN  # the config's text_prototype
    for sample in out['predictions']:
        plain = inferencer.pred2dict(sample, topk=3)
        scores = sample.pred_score
        assert scores.shape == (len(SEEN), ) and torch.isclose(scores.sum(), torch.tensor(1.))
        top = torch.topk(scores, 3)
        assert plain['labels'] == top.indices.tolist()
        np.testing.assert_allclose(plain['scores'], top.values.numpy(), atol=1e-6)
        assert plain['names'] == [SEEN[i] for i in plain['labels']]
        assert plain['labels'][0] == int(sample.pred_label)
    plain = inferencer(images, topk=3)['predictions']
    assert [p['labels'] for p in plain] == \
        [inferencer.pred2dict(s, topk=3)['labels'] for s in out['predictions']]


def test_vocabulary_swapped_at_call_time(inferencers, images):
    inferencer = inferencers['zero_shot']
    out = inferencer(images, vocabulary=VOCAB, topk=5)
    assert out['classes'] == VOCAB and inferencer.model.num_classes == 5
    for prediction in out['predictions']:
        assert set(prediction['names']) == set(VOCAB) and len(prediction['class_scores']) == 5
    reordered = inferencer(images, vocabulary=REORDERED, topk=5)
    for old, new in zip(out['predictions'], reordered['predictions']):
        np.testing.assert_allclose(new['class_scores'], np.array(old['class_scores'])[PERM],
                                   atol=1e-5)
        assert new['names'] == old['names']
    # a call without a vocabulary is over the default one again
    assert inferencer(images[0])['classes'] == SEEN and inferencer.model.num_classes == 6
