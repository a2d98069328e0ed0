"""Fail early, with the fix, when the OpenMMLab stack around umg_mm is out of range.

A user who installs umg_mm into an existing OpenMMLab environment gets one ``ImportError`` that
names every package out of range and the versions umg_mm supports, instead of a crash deep
inside mmdet or mmseg. The bounds are the ones in ``requirements/runtime.txt``.
"""
from importlib.metadata import PackageNotFoundError, version

from mmengine.utils import digit_version

#: package name -> (lowest supported version, first unsupported version)
SUPPORTED = {
    'mmengine': ('0.10.4', '0.11.0'),
    'mmcv': ('2.0.0', '2.2.0'),
    'mmdet': ('3.3.0', '3.4.0'),
    'mmsegmentation': ('1.2.2', '1.3.0'),
    'mmpretrain': ('1.2.0', '1.3.0'),
    'transformers': ('4.0.0', '4.52.0'),
}


def check_openmmlab_versions(supported: dict = SUPPORTED) -> None:
    """Raise ``ImportError`` listing every package of ``supported`` missing or out of range."""
    problems = []
    for package, (low, high) in supported.items():
        try:
            found = version(package)
        except PackageNotFoundError:
            problems.append(f'{package} is not installed (need >={low},<{high})')
            continue
        if not digit_version(low) <= digit_version(found) < digit_version(high):
            problems.append(f'{package}=={found} is installed, umg_mm needs >={low},<{high}')
    if problems:
        raise ImportError(
            'umg_mm cannot run with this environment:\n  - ' + '\n  - '.join(problems) +
            '\nInstall the supported stack with `bash tools/setup_env.sh` (see README), or '
            '`pip install -e .` to let pip resolve the bounds of requirements/runtime.txt.')
