"""umg_mm.apis.inference_vocabulary (beside the inferencers, whose tiny models it uses): the
things/stuff split (no guessed stuff) and apply_vocabulary, the one function that sets a model's
vocabulary, on each model's own state."""
import pytest

from umg_mm.apis.inference_vocabulary import (apply_vocabulary, model_vocabulary,
                                              split_things_stuff)
from umg_mm.structures.vocabulary import Vocabulary

DEFAULT = (Vocabulary((('circle', ), ('square', ))), Vocabulary((('sky', ), )))


def test_split_things_stuff():
    things, stuff = split_things_stuff(['circle', 'grass', 'sea, ocean'], 'ocean,grass', DEFAULT)
    assert things.class_names == ['circle'] and stuff.class_names == ['grass', 'sea']
    # a vocabulary without stuff=... has no stuff classes, whatever its names
    things, stuff = split_things_stuff(['circle', 'sky', 'grass'], None, DEFAULT)
    assert things.class_names == ['circle', 'sky', 'grass'] and len(stuff) == 0
    assert split_things_stuff(None, None, DEFAULT) == DEFAULT
    things, stuff = split_things_stuff(None, ['square'], DEFAULT)
    assert things.class_names == ['circle', 'sky'] and stuff.class_names == ['square']
    things, stuff = split_things_stuff(dict(thing_classes=[], stuff_classes=['sky']), None,
                                       DEFAULT)
    assert len(things) == 0 and stuff.class_names == ['sky']
    with pytest.raises(ValueError, match=r"stuff classes \['road'\] are not in the vocabulary"):
        split_things_stuff(['circle'], 'road', DEFAULT)
    with pytest.raises(ValueError, match='and then no stuff'):
        split_things_stuff(dict(thing_classes=['a'], stuff_classes=['b']), 'b', DEFAULT)


def test_apply_vocabulary_on_each_model(inferencers):
    panoptic = inferencers['panoptic'].model
    combined = apply_vocabulary(panoptic, ['star', 'circle'], Vocabulary((('sea', ), )))
    assert combined.class_names == ['star', 'circle', 'sea']
    assert model_vocabulary(panoptic).class_names == ['star', 'circle', 'sea']
    assert panoptic.num_things_classes == 2
    assert apply_vocabulary(panoptic, ['star'], Vocabulary(())).class_names == ['star']
    with pytest.raises(ValueError, match='which classes are stuff'):
        apply_vocabulary(panoptic, ['star'])  # the model never guesses the split
    assert panoptic.num_things_classes == 1
    for kind in ('semantic', 'zero_shot', 'pretrainer'):
        model = inferencers[kind].model
        assert apply_vocabulary(model, ['sea', 'sky']).class_names == ['sea', 'sky']
        assert model_vocabulary(model).class_names == ['sea', 'sky']
    assert inferencers['zero_shot'].model.num_classes == 2
    assert apply_vocabulary(inferencers['pretrainer'].model, None) is None
    assert model_vocabulary(inferencers['pretrainer'].model) is None
