"""Vocabulary files and loading: benchmark names, files, lists, errors, regeneration."""
import importlib.util
import os.path as osp

import pytest

from umg_mm.structures.vocabulary import (VOCABULARY_DIR, list_vocabularies, load_vocabulary,
                                        read_vocabulary_file, vocabulary_line)

SCRIPT = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters',
                  'vocabularies_from_metainfo.py')


@pytest.mark.parametrize('name,size', [('coco_panoptic_133', 133), ('coco_stuff_171', 171),
                                       ('ade20k_150', 150), ('pascal_context_59', 59),
                                       ('pascal_voc_20', 20), ('pascal_voc_21', 21)])
def test_benchmark_vocabularies_have_their_class_counts(name, size):
    vocabulary = load_vocabulary(name)
    assert len(vocabulary) == size
    assert name in list_vocabularies()


def test_text_names_and_synonyms():
    coco = load_vocabulary('coco_panoptic_133')
    assert coco.class_names[0] == 'person'
    assert coco.class_names[-2:] == ['wall', 'rug']  # wall-other-merged, rug-merged
    voc = load_vocabulary('pascal_voc_20')
    assert voc.synonyms[0] == ('aeroplane', 'airplane')
    assert load_vocabulary('pascal_voc_21').class_names[0] == 'background'


def test_shipped_files_match_the_generator():
    spec = importlib.util.spec_from_file_location('vocab_script', SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(['--check', '--out-dir', VOCABULARY_DIR]) == 0


def test_file_and_list_forms(tmp_path):
    file = tmp_path / 'mine.txt'
    file.write_text('# my classes\nsofa, couch\n\nlamp\n')
    vocabulary = load_vocabulary(str(file))
    assert vocabulary.synonyms == (('sofa', 'couch'), ('lamp',))
    assert load_vocabulary(['sofa, couch', ('lamp',)]).synonyms == vocabulary.synonyms


def test_errors_name_the_line(tmp_path):
    file = tmp_path / 'bad.txt'
    file.write_text('sofa\nlamp,\n')
    with pytest.raises(ValueError, match=r'bad\.txt, line 2: empty class name'):
        read_vocabulary_file(str(file))
    file.write_text('sofa, couch\nlamp\nsofa, couch\n')
    with pytest.raises(ValueError, match=r"line 3: class 'sofa, couch' repeats line 1"):
        read_vocabulary_file(str(file))
    file.write_text('door\nlamp\ndoor, doorway\n')  # same display name, other synonyms: allowed
    assert read_vocabulary_file(str(file)).class_names == ['door', 'lamp', 'door']
    with pytest.raises(FileNotFoundError, match='ade20k_150'):
        load_vocabulary('ade_150')


def test_hash_names_are_escaped_and_do_not_shift_labels(tmp_path):
    file = tmp_path / 'tags.txt'
    names = [('#hashtag', 'hash tag'), ('lamp', )]
    file.write_text('# comment\n' + ''.join(vocabulary_line(n) + '\n' for n in names))
    assert file.read_text().splitlines()[1] == '\\#hashtag, hash tag'
    vocabulary = read_vocabulary_file(str(file))
    assert vocabulary.class_names == ['#hashtag', 'lamp']  # label 0 is '#hashtag', 1 is 'lamp'


@pytest.mark.parametrize('text, message', [
    ('sky\nStar\nstar\n', r"line 3: class 'star' repeats line 2 \(names are compared ignoring "
     r'case and spaces\)'),
    ('sky\nstar\n  STAR \n', r"line 3: class 'STAR' repeats line 2"),
    ('traffic light\ntraffic   Light\n', r"line 2: class 'traffic   Light' repeats line 1"),
    ('sky\nstar, star\n', r"line 2: 'star, star' names 'star' twice"),
    ('sky\nsofa, couch, Sofa\n', r"line 2: 'sofa, couch, Sofa' names 'Sofa' twice"),
])
def test_duplicates_ignore_case_and_spaces_and_are_found_within_a_line(tmp_path, text, message):
    file = tmp_path / 'bad.txt'
    file.write_text(text)
    with pytest.raises(ValueError, match=rf'bad\.txt, {message}'):
        read_vocabulary_file(str(file))


def test_invalid_utf8_names_the_line(tmp_path):
    file = tmp_path / 'bad.txt'
    file.write_bytes(b'sky\ncaf\xe9\n')
    with pytest.raises(ValueError, match=r'bad\.txt, line 2: byte 3 is not UTF-8'):
        read_vocabulary_file(str(file))


def test_written_vocabulary_files_read_back_names_starting_with_hash(tmp_path):
    """What the converters write (write_vocabulary_file) reads back entry for entry."""
    from umg_mm.structures.vocabulary import write_vocabulary_file
    path = str(tmp_path / 'classes.txt')
    write_vocabulary_file(path, ['#1 pick', 'person, individual', 'sky'])
    assert load_vocabulary(path).synonyms == (('#1 pick', ), ('person', 'individual'), ('sky', ))
