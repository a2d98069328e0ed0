"""Every folder of ``projects/`` has the shape of mmdet's ``projects/example_project`` (a README
with Description, Usage, Results; configs and nothing else), each config's base is a config the
installed mmdet, mmseg or mmpretrain ships, and its ``custom_imports`` alone registers umg_mm (in
a fresh interpreter that never imports umg_mm itself)."""
import importlib
import os
import os.path as osp
import re
import subprocess
import sys
import textwrap

import pytest

from .project_configs import PROJECTS

EXPECTED = {
    'umg_mask2former_panoptic': ('mmdet', 'OpenVocabMask2Former'),
    'umg_backbone_ade20k_semseg': ('mmseg', 'EncoderDecoder'),
    'umg_clip_zeroshot_mmpretrain': ('mmpretrain', 'UMGCLIPZeroShot'),
}


def config_files(project):
    folder = osp.join(PROJECTS, project, 'configs')
    return sorted(osp.join(folder, name) for name in os.listdir(folder))


def test_projects_are_the_three_examples_in_example_project_shape():
    folders = sorted(d for d in os.listdir(PROJECTS) if osp.isdir(osp.join(PROJECTS, d)))
    assert folders == sorted(EXPECTED)
    index = open(osp.join(PROJECTS, 'README.md')).read()
    for project in EXPECTED:
        assert f'({project}/README.md)' in index, project
        files = sorted(os.listdir(osp.join(PROJECTS, project)))
        assert files == ['README.md', 'configs'], (project, files)  # no code: umg_mm holds it
        readme = open(osp.join(PROJECTS, project, 'README.md')).read()
        for section in ('## Description', '## Usage', '## Results'):
            assert section in readme, (project, section)
        for config in config_files(project):
            assert config.endswith('.py')
            assert f'`{osp.basename(config)}`' in readme, (project, config)  # documented


@pytest.mark.parametrize('project', sorted(EXPECTED))
def test_each_project_inherits_an_installed_stock_config(project):
    package, _ = EXPECTED[project]
    root = osp.join(osp.dirname(importlib.import_module(package).__file__), '.mim', 'configs')
    stock = 0
    for config in config_files(project):
        text = open(config).read()
        bases = re.findall(r"^_base_ = \['([^']+)'\]", text, flags=re.M)
        assert len(bases) == 1, config
        if bases[0].startswith(f'{package}::'):
            assert osp.isfile(osp.join(root, bases[0].split('::')[1])), bases[0]
            assert "custom_imports = dict(imports=[" in text and "'umg_mm'" in text
            assert 'allow_failed_imports=False' in text
            stock += 1
        else:  # a variant of another config of the same project
            assert osp.isfile(osp.join(osp.dirname(config), bases[0])), bases[0]
    assert stock >= 1


def test_custom_imports_alone_registers_umg_mm_for_every_project_config():
    configs = {p: config_files(p) for p in EXPECTED}
    script = textwrap.dedent(f'''\
        import importlib, sys
        from mmengine.config import Config
        expected = {EXPECTED!r}
        for project, files in {configs!r}.items():
            package, model_type = expected[project]
            for path in files:
                cfg = Config.fromfile(path)
                assert 'umg_mm' in sys.modules, path + ': custom_imports had no effect'
                registry = importlib.import_module(package + '.registry').MODELS
                assert cfg.model.type == model_type, (path, cfg.model.type)
                assert registry.get(cfg.model.type) is not None, path
                assert registry.get(cfg.model.backbone.type).__name__ == 'UMGCLIPBackbone'
        print('OK')
        ''')
    env = dict(os.environ, PYTHONPATH=osp.dirname(PROJECTS))  # this checkout's umg_mm
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            timeout=300, env=env, cwd=osp.dirname(PROJECTS))
    assert result.returncode == 0 and result.stdout.strip().endswith('OK'), \
        result.stdout[-2000:] + result.stderr[-4000:]
