import pytest

from umg_mm.structures.vocabulary import load_held_out_names


def test_nothing_held_out_gives_an_empty_tuple(tmp_path):
    empty = tmp_path / 'held_out.txt'
    empty.write_text('# nothing held out\n\n')
    assert load_held_out_names(None) == ()
    assert load_held_out_names([]) == ()
    assert load_held_out_names(str(empty)) == ()


def test_held_out_names_are_read_and_checked(tmp_path):
    path = tmp_path / 'held_out.txt'
    path.write_text('star\nbrick, bricks\n')
    assert load_held_out_names(str(path)) == ('star', 'brick')
    assert load_held_out_names(['heart']) == ('heart', )
    path.write_text('star\nstar\n')
    with pytest.raises(ValueError, match='repeats line 1'):
        load_held_out_names(str(path))
    with pytest.raises(FileNotFoundError):
        load_held_out_names(str(tmp_path / 'missing.txt'))
