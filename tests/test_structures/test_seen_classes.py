"""SeenClasses: one name-matching rule (synonyms, case, white space) for every seen / held-out
split; Vocabulary's thing/stuff split."""
import pytest

from umg_mm.structures import SeenClasses, Vocabulary, join_things_stuff, load_vocabulary


def test_seen_classes_match_synonyms_case_and_white_space():
    seen = SeenClasses(['sky', 'pentagram', 'grass, lawn', 'brick  wall'])
    mask = seen.mask(['Sky', 'star, pentagram', 'brick', 'grass', 'Brick Wall'])
    assert mask.tolist() == [True, True, False, True, True]
    assert seen.held_out_mask(['Sky', 'brick']).tolist() == [False, True]
    assert seen.is_seen(['LAWN']) and not seen.is_seen(['star'])


def test_build_keeps_none_and_instances():
    assert SeenClasses.build(None) is None
    seen = SeenClasses('pascal_voc_20')
    assert SeenClasses.build(seen) is seen
    assert SeenClasses.build(['cat']).mask(['cat', 'dog']).tolist() == [True, False]
    assert seen.mask(['airplane', 'sky']).tolist() == [True, False]  # a VOC synonym


def test_joined_vocabulary_knows_its_things_and_stuff():
    vocabulary = join_things_stuff(['cat', 'dog, puppy'], 'coco_panoptic_stuff_53')
    assert vocabulary.num_things == 2 and len(vocabulary) == 55
    assert vocabulary.things.synonyms == (('cat',), ('dog', 'puppy'))
    assert vocabulary.stuff.class_names == load_vocabulary('coco_panoptic_stuff_53').class_names
    assert vocabulary != Vocabulary(vocabulary.synonyms, vocabulary.source)  # the split counts


def test_split_errors():
    with pytest.raises(ValueError, match='no thing/stuff split'):
        load_vocabulary(['a', 'b']).things
    with pytest.raises(ValueError, match='num_things=3'):
        Vocabulary((('a',), ('b',)), num_things=3)
    with pytest.raises(ValueError, match="class 'Cat' repeats"):
        join_things_stuff(['cat'], ['sky', 'Cat'])
