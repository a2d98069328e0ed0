"""UMGSegInferencer (mmseg's MMSegInferencer): label maps over vocabularies given per call."""
import cv2
import numpy as np

from tests.test_apis.tiny_models import SEEN, tiny_config
from umg_mm.apis import UMGInferencer
from .helpers import PERM, REORDERED, VOCAB


def test_label_map_at_the_input_size(inferencers, images):
    inferencer = inferencers['semantic']
    image = cv2.resize(cv2.imread(images[0]), (80, 40))  # not the pipeline's size
    out = inferencer(image, vocabulary=VOCAB)
    prediction = out['predictions'][0]
    label_map = prediction['sem_seg']
    assert label_map.shape == (40, 80) and label_map.dtype == np.int64
    assert 0 <= label_map.min() and label_map.max() < 5
    assert sum(c['area'] for c in prediction['classes']) == 40 * 80
    assert all(c['name'] == VOCAB[c['label']] for c in prediction['classes'])
    reordered = inferencer(image, vocabulary=REORDERED)['predictions'][0]['sem_seg']
    np.testing.assert_array_equal(np.array(PERM)[reordered], label_map)
    # the visualiser names the labels of the call's vocabulary
    assert inferencer.visualizer.dataset_meta['classes'] == REORDERED


def test_default_vocabulary(ckpts, inferencers, images):
    inferencer = inferencers['semantic']
    assert inferencer(images[0])['classes'] == SEEN  # the config's (train = test vocabulary)
    built = UMGInferencer(tiny_config('semantic'), str(ckpts['semantic']), vocabulary=VOCAB,
                          device='cpu')
    assert built.default_vocabulary.class_names == VOCAB
    assert built(images[0])['classes'] == VOCAB
    np.testing.assert_array_equal(built(images[0])['predictions'][0]['sem_seg'],
                                  inferencer(images[0], vocabulary=VOCAB)['predictions'][0]
                                  ['sem_seg'])
