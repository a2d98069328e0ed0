"""Test isolation shared by the whole suite."""
import pytest
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def _isolated_default_scope():
    """Forget the default scopes a test created (a Runner with ``default_scope='mmdet'``, say).

    mmengine resolves unscoped type names in the most recently created ``DefaultScope``, so a
    scope left behind by one test would change what another test's configs build.
    """
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)
