import pytest

from umg_mm.datasets import VocabularyCocoPanopticDataset
from umg_mm.datasets.synthetic import SyntheticWorldConfig, generate_synthetic_world


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('world'))
    generate_synthetic_world(root, SyntheticWorldConfig(
        num_train=6, num_val=10, num_dev=1, image_size=32, held_out_things=('circle', 'square'),
        held_out_stuff=('sky', )))
    return root


def _dataset(root, split, things, stuff, **kwargs):
    return VocabularyCocoPanopticDataset(
        thing_classes=f'{root}/vocabularies/{things}.txt',
        stuff_classes=f'{root}/vocabularies/{stuff}.txt', data_root=root,
        ann_file=f'annotations/panoptic_{split}.json',
        data_prefix=dict(img=f'images/{split}/', seg=f'annotations/panoptic_{split}/'), **kwargs)


def _lines(root, name):
    with open(f'{root}/vocabularies/{name}.txt') as f:
        return tuple(line.strip() for line in f if line.strip())


def test_classes_come_from_the_vocabulary_files(world):
    train = _dataset(world, 'train', 'seen_things', 'seen_stuff')
    things, stuff = _lines(world, 'seen_things'), _lines(world, 'seen_stuff')
    assert 'circle' not in things and 'sky' not in stuff
    assert train.metainfo['thing_classes'] == things
    assert train.metainfo['stuff_classes'] == stuff
    assert train.metainfo['classes'] == things + stuff
    labels = {seg['category'] for info in train for seg in info['segments_info']}
    assert labels and max(labels) < len(things + stuff)

    val = _dataset(world, 'val', 'things', 'stuff', test_mode=True)
    assert set(val.metainfo['classes']) == set(_lines(world, 'all'))
    names = {val.metainfo['classes'][seg['category']] for info in val for seg in
             info['segments_info']}
    assert names & {'circle', 'square', 'sky'}  # the held-out classes are in the val split


def test_class_lists_in_metainfo_are_refused(world):
    with pytest.raises(ValueError, match=r"remove metainfo\['classes'\]"):
        _dataset(world, 'val', 'things', 'stuff', metainfo=dict(classes=('a', )))


def test_a_class_in_both_lists_is_refused(world):
    with pytest.raises(ValueError, match=r'both thing classes'):
        _dataset(world, 'val', 'all', 'stuff')


def test_a_missing_vocabulary_file_is_named(world):
    with pytest.raises(FileNotFoundError, match='no_such.txt'):
        _dataset(world, 'val', 'no_such', 'stuff')


def test_categories_outside_the_vocabularies_are_void(world):
    """The val file has every class; a seen-only vocabulary drops the held-out segments."""
    val = _dataset(world, 'val', 'seen_things', 'seen_stuff', test_mode=True)
    names = {val.metainfo['classes'][seg['category']] for info in val
             for seg in info['segments_info']}
    assert names and not names & {'circle', 'square', 'sky'}
