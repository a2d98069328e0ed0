"""SemSegVocabularyHook and VocabularySegDataset: the evaluated dataset's vocabulary reaches the
model without retraining; inconsistent vocabularies fail with a clear error."""
from types import SimpleNamespace

import pytest

from umg_mm.datasets import VocabularySegDataset
from umg_mm.structures.vocabulary import load_vocabulary
from umg_mm.engine.hooks import SemSegVocabularyHook, dataset_vocabulary


class FakeSegmentor:
    def __init__(self, train, test=None):
        self.train_vocabulary = load_vocabulary(train)
        self.test_vocabulary_pinned = test is not None
        self.test_vocabulary = load_vocabulary(test) if test else self.train_vocabulary

    def set_test_vocabulary(self, vocabulary):
        self.test_vocabulary = load_vocabulary(vocabulary)


def runner_with(model, metainfo, loop='test_loop'):
    dataset = SimpleNamespace(metainfo=metainfo)
    return SimpleNamespace(model=model, **{loop: SimpleNamespace(
        dataloader=SimpleNamespace(dataset=dataset))}, train_dataloader=SimpleNamespace(
            dataset=dataset))


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


def test_hook_sets_the_test_datasets_vocabulary():
    model = FakeSegmentor(['sky', 'grass'])
    metainfo = dict(classes=('sofa', 'lamp', 'rug'),
                    vocabulary=(('sofa', 'couch'), ('lamp',), ('rug',)))
    SemSegVocabularyHook().before_test(runner_with(model, metainfo))
    assert model.test_vocabulary.synonyms == (('sofa', 'couch'), ('lamp',), ('rug',))
    # without a vocabulary the class names are used; a shipped name works too
    SemSegVocabularyHook().before_val(runner_with(model, dict(classes=('a', 'b')), 'val_loop'))
    assert model.test_vocabulary.class_names == ['a', 'b']
    assert len(dataset_vocabulary(dict(classes=tuple(range(20)), vocabulary='pascal_voc_20'),
                                  'test')) == 20


def test_hook_errors():
    with pytest.raises(ValueError, match='must list the same classes'):
        dataset_vocabulary(dict(classes=('a', 'b'), vocabulary=['a']), 'test')
    pinned = FakeSegmentor(['sky'], test=['x', 'y'])
    with pytest.raises(ValueError, match='model.test_vocabulary'):
        SemSegVocabularyHook().before_test(runner_with(pinned, dict(classes=('a', 'b', 'c'))))
    SemSegVocabularyHook().before_test(runner_with(pinned, dict(classes=('a', 'b'))))
    assert pinned.test_vocabulary.class_names == ['x', 'y']  # pinned: kept
    with pytest.raises(ValueError, match='train_vocabulary'):
        SemSegVocabularyHook().before_train(runner_with(FakeSegmentor(['a']),
                                                         dict(classes=('a', 'b'))))


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
