"""umg_mm.utils.version_check: one clear ImportError for an out-of-range stack."""
import pytest

from umg_mm.utils.version_check import SUPPORTED, check_openmmlab_versions


def test_installed_stack_is_supported():
    check_openmmlab_versions()  # raises if the installed stack is out of range
    assert {'mmcv', 'mmdet', 'mmsegmentation', 'mmengine'} <= set(SUPPORTED)


def test_out_of_range_and_missing_packages_are_all_named():
    with pytest.raises(ImportError) as info:
        check_openmmlab_versions({'mmcv': ('2.2.0', '3.0.0'),
                                  'not-a-package-xyz': ('1.0', '2.0')})
    message = str(info.value)
    assert 'mmcv==2.1.0 is installed, umg_mm needs >=2.2.0,<3.0.0' in message
    assert 'not-a-package-xyz is not installed (need >=1.0,<2.0)' in message
    assert 'tools/setup_env.sh' in message
