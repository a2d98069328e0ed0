"""umg_mm: UMG-CLIP (multi-granularity CLIP) for MMEngine, mmdet and mmseg."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(path):
    """Requirement lines of ``path``, without comments and blank lines."""
    with open(osp.join(HERE, path)) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def read_version():
    namespace = {}
    with open(osp.join(HERE, 'umg_mm', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='umg_mm',
    version=read_version(),
    description='UMG-CLIP (image, region and pixel aligned CLIP) for OpenMMLab',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['umg_mm', 'umg_mm.*']),
    include_package_data=True,
    package_data={'umg_mm': ['**/*.txt', '**/*.json']},
    python_requires='>=3.10',
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require={'tests': ['pytest>=7'], 'demo': read_requirements('requirements/demo.txt')},
    license='Apache-2.0',
    zip_safe=False,
)
