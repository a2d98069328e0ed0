"""umg_mm.utils.atomic_io: metrics made plain JSON."""
import json
import math

import numpy as np
import pytest
import torch

from umg_mm.utils.atomic_io import dumps_json, plain_metrics


def test_plain_metrics_turns_nan_into_null_and_arrays_into_lists():
    metrics = {'region/top1': 41.5, 'region/top1_held_out': float('nan'),
               'per_class': np.array([1.0, 2.5]), 'count': torch.tensor(3)}
    with pytest.raises(ValueError, match='not JSON compliant'):
        dumps_json(metrics)
    plain = plain_metrics(metrics)
    assert plain == {'region/top1': 41.5, 'region/top1_held_out': None,
                     'per_class': [1.0, 2.5], 'count': 3}
    assert json.loads(dumps_json(plain)) == plain
    assert math.isnan(metrics['region/top1_held_out'])  # the input is left as it was
