"""DatasetVocabularyHook: the model classifies over each loop's dataset classes."""
from types import SimpleNamespace

import pytest

from umg_mm.structures.vocabulary import Vocabulary
from umg_mm.engine.hooks import DatasetVocabularyHook


class RecordingModel:
    def __init__(self):
        self.calls = []

    def set_vocabulary(self, thing_classes, stuff_classes):
        self.calls.append((list(thing_classes), list(stuff_classes)))
        return Vocabulary(tuple(thing_classes) + tuple(stuff_classes))


def loop(things, stuff, classes=None):
    meta = dict(classes=classes or things + stuff, thing_classes=things, stuff_classes=stuff)
    return SimpleNamespace(dataloader=SimpleNamespace(dataset=SimpleNamespace(metainfo=meta)))


def runner():
    return SimpleNamespace(
        model=RecordingModel(),
        train_loop=loop(['circle', 'square'], ['sky']),
        val_loop=loop(['circle', 'square', 'star'], ['sky', 'brick']),
        test_loop=loop(['bed', 'windowpane, window'], ['wall']))


def test_train_val_test_vocabularies_follow_the_datasets():
    hook, r = DatasetVocabularyHook(), runner()
    hook.before_train(r)
    hook.before_val_epoch(r)
    hook.after_val_epoch(r)
    hook.before_test_epoch(r)
    assert r.model.calls == [
        ([('circle',), ('square',)], [('sky',)]),
        ([('circle',), ('square',), ('star',)], [('sky',), ('brick',)]),
        ([('circle',), ('square',)], [('sky',)]),  # back to training's classes
        ([('bed',), ('windowpane', 'window')], [('wall',)]),  # dataset synonyms kept
    ]


def test_texts_rename_the_dataset_classes_in_order():
    hook, r = DatasetVocabularyHook(texts=['round disc', 'box', 'blue sky']), runner()
    hook.before_train(r)
    assert r.model.calls == [([('round disc',), ('box',)], [('blue sky',)])]
    with pytest.raises(ValueError, match='3 entries but the val dataset has 5 classes'):
        hook.before_val_epoch(r)


def test_errors_name_the_dataset_problem():
    r = runner()
    r.train_loop = loop(['a'], ['b'], classes=['b', 'a'])
    with pytest.raises(ValueError, match='things first'):
        DatasetVocabularyHook().before_train(r)
    r.train_loop.dataloader.dataset.metainfo = dict(classes=['a'])
    with pytest.raises(KeyError, match='thing_classes'):
        DatasetVocabularyHook().before_train(r)
    r = runner()
    r.model = object()
    with pytest.raises(TypeError, match='set_vocabulary'):
        DatasetVocabularyHook().before_test_epoch(r)
