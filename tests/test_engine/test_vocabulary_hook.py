"""VocabularyHook (mmdet, mmseg and mmpretrain runners alike) and VocabularySegDataset: each
loop's dataset vocabulary reaches the model through set_vocabulary, the panoptic split
included; inconsistent vocabularies fail with a clear error; the replaced hooks name their
successor."""
from types import SimpleNamespace

import pytest
from mmengine.registry import HOOKS

from umg_mm.datasets import VocabularySegDataset
from umg_mm.engine.hooks import VocabularyHook, dataset_vocabulary
from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary


class RecordingModel:
    """The protocol's set_vocabulary(vocabulary, stuff=None), recording each call."""

    def __init__(self, train_vocabulary=None):
        self.train_vocabulary = None if train_vocabulary is None else \
            load_vocabulary(train_vocabulary)
        self.calls = []

    def set_vocabulary(self, vocabulary, stuff=None):
        assert stuff is None
        self.calls.append(vocabulary)
        return vocabulary


def panoptic_loop(things, stuff, classes=None):
    meta = dict(classes=classes or things + stuff, thing_classes=things, stuff_classes=stuff)
    return SimpleNamespace(dataloader=SimpleNamespace(dataset=SimpleNamespace(metainfo=meta)))


def panoptic_runner():
    return SimpleNamespace(
        model=RecordingModel(),
        train_loop=panoptic_loop(['circle', 'square'], ['sky']),
        val_loop=panoptic_loop(['circle', 'square', 'star'], ['sky', 'brick']),
        test_loop=panoptic_loop(['bed', 'windowpane, window'], ['wall']))


def runner_with(model, metainfo, loop='test_loop'):
    dataset = SimpleNamespace(metainfo=metainfo)
    return SimpleNamespace(model=model, **{loop: SimpleNamespace(
        dataloader=SimpleNamespace(dataset=dataset))})


def test_panoptic_train_val_test_vocabularies_follow_the_datasets():
    hook, r = VocabularyHook(), panoptic_runner()
    hook.before_train(r)
    hook.before_val_epoch(r)
    hook.after_val_epoch(r)
    hook.before_test_epoch(r)
    assert [(v.things.synonyms, v.stuff.synonyms) for v in r.model.calls] == [
        ((('circle',), ('square',)), (('sky',),)),
        ((('circle',), ('square',), ('star',)), (('sky',), ('brick',))),
        ((('circle',), ('square',)), (('sky',),)),  # back to training's classes
        ((('bed',), ('windowpane', 'window')), (('wall',),)),  # dataset synonyms kept
    ]


def test_explicit_vocabulary_renames_the_dataset_classes_in_order():
    hook, r = VocabularyHook(vocabulary=['round disc', 'box', 'blue sky']), panoptic_runner()
    hook.before_train(r)
    assert r.model.calls[0].synonyms == (('round disc',), ('box',), ('blue sky',))
    assert r.model.calls[0].num_things == 2  # the dataset's split
    with pytest.raises(ValueError, match='3 classes but the val dataset has 5'):
        hook.before_val_epoch(r)
    # things and stuff given apart must match the dataset's split
    VocabularyHook(vocabulary=['disc', 'box'], stuff=['blue sky']).before_train(r)
    assert r.model.calls[-1].stuff.class_names == ['blue sky']
    with pytest.raises(ValueError, match=r'\(2 things\)'):
        VocabularyHook(vocabulary=['disc'], stuff=['box', 'blue sky']).before_train(r)
    with pytest.raises(ValueError, match='thing classes as vocabulary'):
        VocabularyHook(stuff=['sky'])


def test_vocabulary_seg_dataset_metainfo(tmp_path):
    vocab = tmp_path / 'mine.txt'
    vocab.write_text('# my classes\nsofa, couch\nlamp\n')
    (tmp_path / 'img').mkdir()
    dataset = VocabularySegDataset(vocabulary=str(vocab), data_root=str(tmp_path),
                                   data_prefix=dict(img_path='img', seg_map_path='img'),
                                   lazy_init=True)
    assert dataset.metainfo['classes'] == ('sofa', 'lamp')
    assert dataset.metainfo['vocabulary'] == (('sofa', 'couch'), ('lamp',))
    with pytest.raises(ValueError, match='remove metainfo'):
        VocabularySegDataset(vocabulary=str(vocab), metainfo=dict(classes=('a', 'b')),
                             lazy_init=True)


def test_semantic_and_classification_datasets():
    model = RecordingModel(['sky', 'grass'])
    metainfo = dict(classes=('sofa', 'lamp', 'rug'),
                    vocabulary=(('sofa', 'couch'), ('lamp',), ('rug',)))
    VocabularyHook().before_test_epoch(runner_with(model, metainfo))
    assert model.calls[-1].synonyms == (('sofa', 'couch'), ('lamp',), ('rug',))
    assert model.calls[-1].num_things is None
    # without a vocabulary the class names are used (an mmpretrain dataset's metainfo)
    VocabularyHook().before_val_epoch(runner_with(model, dict(classes=('a', 'b')), 'val_loop'))
    assert model.calls[-1].class_names == ['a', 'b']
    assert len(dataset_vocabulary(dict(classes=tuple(range(20)), vocabulary='pascal_voc_20'),
                                  'test')) == 20


def test_hook_errors():
    with pytest.raises(ValueError, match='must list the same classes'):
        dataset_vocabulary(dict(classes=('a', 'b'), vocabulary=['a']), 'test')
    with pytest.raises(ValueError, match='train_vocabulary'):
        VocabularyHook().before_train(runner_with(RecordingModel(['a']),
                                                  dict(classes=('a', 'b')), 'train_loop'))
    r = panoptic_runner()
    r.train_loop = panoptic_loop(['a'], ['b'], classes=['b', 'a'])
    with pytest.raises(ValueError, match='things first'):
        VocabularyHook().before_train(r)
    r.train_loop.dataloader.dataset.metainfo = dict(thing_classes=['a'])
    with pytest.raises(KeyError, match='metainfo "classes"'):
        VocabularyHook().before_train(r)
    r = panoptic_runner()
    r.model = object()
    with pytest.raises(TypeError, match='set_vocabulary'):
        VocabularyHook().before_test_epoch(r)


@pytest.mark.parametrize('old', ['DatasetVocabularyHook', 'SemSegVocabularyHook'])
def test_configs_naming_the_replaced_hooks_are_told_the_new_one(old):
    with pytest.raises(KeyError,
                       match=f"{old} was replaced by VocabularyHook.*type='VocabularyHook'"):
        HOOKS.build(dict(type=old))
    assert isinstance(HOOKS.build(dict(type='VocabularyHook')), VocabularyHook)


@pytest.mark.parametrize('dataset_type, name, size', [
    ('ADE20KDataset', 'ade20k_150', 150), ('PascalContextDataset59', 'pascal_context_59', 59),
    ('COCOStuffDataset', 'coco_stuff_171', 171)])
def test_stock_mmseg_datasets_carry_a_vocabulary(dataset_type, name, size, tmp_path):
    """The benchmark configs give mmseg's own dataset classes metainfo=dict(vocabulary=...)."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')  # as a runner of an mmseg config does
    kwargs = dict(ann_file='val.txt') if dataset_type == 'PascalContextDataset59' else {}
    (tmp_path / 'val.txt').write_text('')
    # mmengine logs that the name is not a file and keeps it as it is
    dataset = DATASETS.build(dict(type=dataset_type, data_root=str(tmp_path),
                                  metainfo=dict(vocabulary=name), lazy_init=True, **kwargs))
    assert dataset.metainfo['vocabulary'] == name
    vocabulary = dataset_vocabulary(dataset.metainfo, 'test')
    assert len(vocabulary) == size == len(dataset.metainfo['classes'])
