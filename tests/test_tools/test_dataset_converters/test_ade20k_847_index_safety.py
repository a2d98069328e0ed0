"""The ADE20K-full converter reads index_ade20k.pkl without running code from it."""
import pickle

import numpy as np
import pytest

from tests.umg_fixtures import WritesMarkerWhenUnpickled


def test_crafted_index_is_refused_naming_file_and_global(tmp_path, load_tool):
    root = tmp_path / 'ADE20K_2021_17_01'
    root.mkdir()
    marker = tmp_path / 'marker'
    # the release's layout (lists and numpy arrays), with one object that runs code
    index = {'filename': ['ADE_train_00000001.jpg'],
             'folder': ['ADE20K_2021_17_01/images/ADE/training/urban/street'],
             'objectnames': ['wall', WritesMarkerWhenUnpickled(marker)],
             'objectPresence': np.zeros((2, 1), np.uint16)}
    (root / 'index_ade20k.pkl').write_bytes(pickle.dumps(index))
    out = tmp_path / 'ade847'
    with pytest.raises(pickle.UnpicklingError,
                       match=rf'{root / "index_ade20k.pkl"}: refusing the global builtins\.exec'):
        load_tool('dataset_converters/ade20k_847.py').main([str(root), str(out)])
    assert not marker.exists() and not out.exists()
