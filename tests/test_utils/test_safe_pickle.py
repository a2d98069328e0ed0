"""load_data_pickle: builtin containers and numpy arrays load; any other global is refused."""
import pickle

import numpy as np
import pytest

from tests.umg_fixtures import WritesMarkerWhenUnpickled
from umg_mm.utils.safe_pickle import load_data_pickle


def _ade_like_index():
    """The layout of ADE20K's index_ade20k.pkl: a dict of lists and numpy arrays."""
    return {'filename': ['ADE_train_00000001.jpg'], 'folder': ['ADE20K_2021_17_01/images/ADE/'
                                                              'training/urban/street'],
            'objectnames': ['person, individual', 'wall'], 'scene': [['street']],
            'objectPresence': np.array([[1], [0]], np.uint16),
            'proportionClassIsPart': np.array([0.25, 0.0]), 'wordnet_level1': [None, 'wall'],
            'objectcounts': np.int64(3)}


@pytest.mark.parametrize('protocol', [2, 4, 5])
def test_dicts_lists_and_numpy_arrays_load(tmp_path, protocol):
    path = tmp_path / 'index.pkl'
    path.write_bytes(pickle.dumps(_ade_like_index(), protocol=protocol))
    index = load_data_pickle(str(path))
    assert index['objectnames'] == ['person, individual', 'wall']
    assert index['objectPresence'].dtype == np.uint16
    assert index['objectPresence'].tolist() == [[1], [0]]
    assert index['objectcounts'] == 3 and index['wordnet_level1'] == [None, 'wall']


def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / 'marker'
    path = tmp_path / 'index.pkl'
    index = _ade_like_index()
    index['objectnames'].append(WritesMarkerWhenUnpickled(marker))
    path.write_bytes(pickle.dumps(index))
    with pytest.raises(pickle.UnpicklingError,
                       match=rf'{path}: refusing the global builtins\.exec'):
        load_data_pickle(str(path))
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # what pickle.load would have done
    assert marker.exists()


def test_a_truncated_pickle_names_the_file(tmp_path):
    path = tmp_path / 'index.pkl'
    path.write_bytes(pickle.dumps(_ade_like_index())[:40])
    with pytest.raises(pickle.UnpicklingError, match=f'{path}: not a valid pickle'):
        load_data_pickle(str(path))
