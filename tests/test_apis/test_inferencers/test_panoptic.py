"""UMGPanopticInferencer (mmdet's DetInferencer): segments of things and stuff given per call."""
import numpy as np
import pytest

from tests.test_apis.tiny_models import tiny_config
from umg_mm.apis import UMGInferencer
from .helpers import PERM, VOCAB


def names(result):
    """The class name of each pixel (``'void'`` where no segment lies)."""
    ids = result['predictions'][0]['panoptic_seg']
    by_id = {s['id']: s['name'] for s in result['predictions'][0]['segments']}
    return np.vectorize(lambda i: by_id.get(i, 'void'))(ids)


def test_segments_of_things_and_stuff(inferencers, images):
    inferencer = inferencers['panoptic']
    out = inferencer(images[0], vocabulary=VOCAB, stuff='sky,grass')
    assert out['classes'] == ['circle', 'square', 'star', 'sky', 'grass']  # things, then stuff
    prediction = out['predictions'][0]
    assert prediction['panoptic_seg'].shape == (48, 64)
    assert prediction['segments'], 'no segment kept although every query is kept'
    for segment in prediction['segments']:
        assert segment['name'] == out['classes'][segment['label']]
        assert segment['isthing'] == (segment['name'] not in ('sky', 'grass'))
        assert segment['area'] == int((prediction['panoptic_seg'] == segment['id']).sum())
    # a reordered vocabulary gives the same named segmentation
    reordered = inferencer(images[0], vocabulary=[VOCAB[i] for i in PERM],
                           stuff=['grass', 'sky'])
    assert reordered['classes'] == ['circle', 'star', 'square', 'grass', 'sky']
    np.testing.assert_array_equal(names(reordered), names(out))


def test_default_and_stuffless_vocabularies(inferencers, images):
    inferencer = inferencers['panoptic']
    # a vocabulary without stuff=...: every class is a thing (no stuff list is guessed)
    things = inferencer(images[0], vocabulary=VOCAB)
    assert things['classes'] == VOCAB and inferencer.model.num_things_classes == 5
    assert all(s['isthing'] for s in things['predictions'][0]['segments'])
    # then the config's own things and stuff again
    default = inferencer(images[0])
    assert default['classes'] == ['circle', 'square', 'triangle', 'sky', 'grass', 'water']
    assert inferencer.model.num_things_classes == 3
    assert all(s['isthing'] == (s['label'] < 3) for s in default['predictions'][0]['segments'])
    # stuff=... alone splits the default vocabulary
    split = inferencer(images[0], stuff='water')
    assert split['classes'] == ['circle', 'square', 'triangle', 'sky', 'grass', 'water']
    assert inferencer.model.num_things_classes == 5
    # the thing/stuff dict
    out = inferencer(images[0], vocabulary=dict(thing_classes=['star'],
                                                 stuff_classes=['sky', 'water']))
    assert out['classes'] == ['star', 'sky', 'water']
    assert all(s['isthing'] == (s['name'] == 'star') for s in out['predictions'][0]['segments'])


def test_stuff_errors(inferencers, images):
    with pytest.raises(ValueError, match=r"stuff classes \['road'\] are not in the vocabulary"):
        inferencers['panoptic'](images[0], vocabulary=VOCAB, stuff='road,sky')


def test_default_given_at_build(ckpts, images):
    inferencer = UMGInferencer(tiny_config('panoptic'), str(ckpts['panoptic']),
                               vocabulary=['star', 'sea', 'circle'], stuff='sea', device='cpu')
    assert [v.class_names for v in inferencer.default_vocabulary] == [['star', 'circle'],
                                                                      ['sea']]
    inferencer(images[0], vocabulary=VOCAB)
    out = inferencer(images[0])
    assert out['classes'] == ['star', 'circle', 'sea'] and inferencer.model.num_things_classes == 2
