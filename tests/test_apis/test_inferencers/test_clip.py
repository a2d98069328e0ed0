"""UMGCLIPInferencer: the pretrainer's classification, retrieval, region and dense semantic
predictions over vocabularies given per call."""
import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmseg.structures import SegDataSample

from tests.test_apis.tiny_models import tiny_config
from .helpers import PERM, REORDERED, VOCAB


def test_classification_over_the_given_vocabulary(inferencers, images):
    inferencer = inferencers['pretrainer']
    out = inferencer(images, task='classification', vocabulary=VOCAB, topk=3)
    assert out['classes'] == VOCAB
    first = out['predictions'][0]
    assert len(first['class_scores']) == 5 and len(first['labels']) == 3
    assert first['names'] == [VOCAB[i] for i in first['labels']]
    assert first['scores'] == sorted(first['scores'], reverse=True)
    assert first['labels'][0] == int(np.argmax(first['class_scores']))
    reordered = inferencer(images, task='classification', vocabulary=REORDERED)
    for old, new in zip(out['predictions'], reordered['predictions']):
        np.testing.assert_allclose(new['class_scores'],
                                   np.array(old['class_scores'])[PERM], atol=1e-5)
        assert new['names'][0] == old['names'][0]
    # the config's own vocabulary when none is given; classification is the default task
    assert inferencer(images[0])['classes'] == tiny_config('pretrainer').model.test_cfg.vocabulary


def test_retrieval_matrix(inferencers, images):
    inferencer = inferencers['pretrainer']
    texts = ['a red circle', 'grass under the sky', 'a star']
    out = inferencer(images, task='retrieval', texts=texts, return_datasamples=True)
    assert out['similarity'].shape == (3, 3) and out['classes'] == texts
    with torch.no_grad():
        text = inferencer.model.text_encoder.encode_text(texts, normalize=True)
    for sample, row in zip(out['predictions'], out['similarity']):
        np.testing.assert_allclose(row, (sample.img_embedding @ text.T).numpy(), atol=1e-5)
    # a later classification call is over the vocabulary again, not the texts
    assert inferencer(images[0], vocabulary=VOCAB)['classes'] == VOCAB


def test_region_classifies_each_box(inferencers, images):
    inferencer = inferencers['pretrainer']
    boxes = [[0, 0, 32, 24], [16, 8, 64, 48]]
    out = inferencer(images[0], task='region', vocabulary=VOCAB, boxes=boxes,
                     return_datasamples=True)
    sample = out['predictions'][0]
    prediction = inferencer.pred2dict(sample)
    assert prediction['boxes'] == [[float(v) for v in b] for b in boxes]
    assert np.array(prediction['class_scores']).shape == (2, 5)
    assert prediction['names'] == [VOCAB[i] for i in prediction['labels']]
    assert isinstance(sample, DetDataSample) and sample.pred_instances.bboxes.shape == (2, 4)
    reordered = inferencer(images[0], task='region', vocabulary=REORDERED,
                           boxes=boxes)['predictions'][0]
    np.testing.assert_allclose(reordered['class_scores'],
                               np.array(prediction['class_scores'])[:, PERM], atol=1e-5)
    # boxes are in input pixels: on a 2x larger copy (resized back to 64x48 by the pipeline),
    # the doubled boxes pool the same features
    big = cv2.resize(cv2.imread(images[0]), (128, 96), interpolation=cv2.INTER_NEAREST)
    scaled = inferencer(big, task='region', vocabulary=VOCAB,
                        boxes=np.array(boxes) * 2)['predictions'][0]
    assert scaled['boxes'] == [[2. * v for v in b] for b in boxes]
    np.testing.assert_allclose(scaled['class_scores'], prediction['class_scores'], atol=1e-4)
    unscaled = inferencer(big, task='region', vocabulary=VOCAB, boxes=boxes)['predictions'][0]
    assert not np.allclose(unscaled['class_scores'], prediction['class_scores'], atol=1e-4)


def test_dense_semantic_label_map(inferencers, images):
    inferencer = inferencers['pretrainer']
    image = cv2.resize(cv2.imread(images[0]), (80, 40))  # not the pipeline's size
    out = inferencer(image, task='semantic', vocabulary=VOCAB, return_datasamples=True)
    sample = out['predictions'][0]
    assert isinstance(sample, SegDataSample)
    label_map = inferencer.pred2dict(sample)['sem_seg']
    assert label_map.shape == (40, 80) and 0 <= label_map.min() and label_map.max() < 5
    reordered = inferencer(image, task='semantic', vocabulary=REORDERED)['predictions'][0]
    np.testing.assert_array_equal(np.array(PERM)[reordered['sem_seg']], label_map)


def test_templates(inferencers, images):
    pretrainer = inferencers['pretrainer']
    plain = pretrainer(images[0], vocabulary=VOCAB, templates=['{}'])['predictions'][0]
    photo = pretrainer(images[0], vocabulary=VOCAB,
                       templates=['a photo of a {}.'])['predictions'][0]
    assert not np.allclose(plain['class_scores'], photo['class_scores'])
    image = pretrainer(images[0], task='retrieval', texts=VOCAB)['predictions'][0]['scores']
    # the template '{}' is the bare name: the scores are the retrieval scores of the names
    np.testing.assert_allclose(plain['class_scores'], image, atol=1e-5)


def test_argument_errors(inferencers, images):
    pretrainer = inferencers['pretrainer']
    with pytest.raises(ValueError, match='task="region" needs boxes'):
        pretrainer(images[0], task='region', vocabulary=VOCAB)
    with pytest.raises(ValueError, match=r'boxes of image 0 have shape \(1, 3\)'):
        pretrainer(images[0], task='region', vocabulary=VOCAB, boxes=[[0, 0, 4]])
    with pytest.raises(ValueError, match='boxes has 1 entries for 3 images'):
        pretrainer(images, task='region', vocabulary=VOCAB, boxes=[[[0, 0, 4, 4]]])
    with pytest.raises(ValueError, match='task="retrieval" needs texts'):
        pretrainer(images[0], task='retrieval')
    with pytest.raises(ValueError, match='scores the given texts'):
        pretrainer(images[0], task='retrieval', texts=['a'], vocabulary=VOCAB)
    with pytest.raises(ValueError, match=r"UMGCLIPPretrainer cannot do task='panoptic'"):
        pretrainer(images[0], task='panoptic')
