"""What the inferencer tests compare: reordered vocabularies and batched against single calls."""
import numpy as np

VOCAB = ['circle', 'square', 'sky', 'grass', 'star']
PERM = [3, 0, 4, 2, 1]  # VOCAB reordered: new label j is old label PERM[j]
REORDERED = [VOCAB[i] for i in PERM]


def assert_same_predictions(many: list, single: list) -> None:
    """Plain predictions equal (scores and dense maps to 1e-5)."""
    assert len(many) == len(single)
    for batched, one in zip(many, single):
        assert batched.keys() == one.keys()
        for key in batched:
            if isinstance(batched[key], np.ndarray) or key.endswith('scores'):
                np.testing.assert_allclose(np.asarray(batched[key]), np.asarray(one[key]),
                                           atol=1e-5, err_msg=key)
            else:
                assert batched[key] == one[key], key
