"""Imports inside umg_mm run one way, down the layers of docs/architecture.md.

Every ``import`` of every module under ``umg_mm/`` is read with :mod:`ast` (absolute and relative
imports, at module level or inside functions) and its target subpackage looked up in ``MAY_IMPORT``: a
module may import its own subpackage and the subpackages ``MAY_IMPORT`` lists for it.
"""
import ast
import os.path as osp
import sys
from pathlib import Path

import pytest

import umg_mm

PACKAGE = Path(osp.dirname(umg_mm.__file__))
# what each subpackage may import (besides itself); docs/architecture.md draws the same picture.
# datasets and the model layer are side by side: a model, metric, hook or visualiser reads classes
# from umg_mm.structures, never from a dataset.
_BASE = {'registry', 'version', 'utils'}
_DATA = _BASE | {'structures'}
_MODEL_LAYER = {'models', 'evaluation', 'engine', 'visualization'}
_APPLICATIONS = _DATA | {'datasets'} | _MODEL_LAYER
MAY_IMPORT = {
    'registry': set(), 'version': set(), 'utils': {'registry'},
    'structures': _BASE,
    'datasets': _DATA,
    **{name: _DATA for name in _MODEL_LAYER},
    'apis': _APPLICATIONS, 'benchmark': _APPLICATIONS,
    'data_engine': _APPLICATIONS | {'apis'},
}


def _imported_subpackages(path: Path):
    """Yield ``(line, subpackage)`` for each umg_mm subpackage the module at ``path`` imports."""
    module = path.relative_to(PACKAGE.parent).with_suffix('').parts
    package = module[:-1] if module[-1] != '__init__' else module[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name.split('.') for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                head = base + (node.module.split('.') if node.module else [])
                targets = [head] if node.module else [head + [a.name] for a in node.names]
            else:
                targets = [node.module.split('.')]
        else:
            continue
        for target in targets:
            if target[0] == 'umg_mm' and len(target) > 1:
                yield node.lineno, target[1]


def _modules():
    return sorted(p for p in PACKAGE.rglob('*.py') if p.parent != PACKAGE)


def test_every_subpackage_has_a_layer():
    subpackages = {p.relative_to(PACKAGE).parts[0] for p in _modules()}
    subpackages |= {p.stem for p in PACKAGE.glob('*.py') if p.stem != '__init__'}
    assert subpackages - set(MAY_IMPORT) == set(), 'add the new subpackage to MAY_IMPORT and the docs'


@pytest.mark.parametrize('path', _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_down_the_layers(path):
    own = path.relative_to(PACKAGE).parts[0]
    wrong = [f'{path.relative_to(PACKAGE.parent)}:{line} imports umg_mm.{target}; umg_mm.{own} '
             f'may import only {sorted(MAY_IMPORT[own])}'
             for line, target in _imported_subpackages(path)
             if target != own and target not in MAY_IMPORT[own]]
    assert not wrong, '\n'.join(wrong)


def test_the_checker_sees_a_backward_import(tmp_path, monkeypatch):
    """A models module importing datasets (relatively, inside a function) is reported."""
    fake = tmp_path / 'umg_mm' / 'models' / 'heads'
    fake.mkdir(parents=True)
    (fake / 'bad.py').write_text('def f():\n    from ...datasets import UMGDataset\n')
    monkeypatch.setattr(sys.modules[__name__], 'PACKAGE', tmp_path / 'umg_mm')
    assert list(_imported_subpackages(fake / 'bad.py')) == [(2, 'datasets')]
    with pytest.raises(AssertionError, match='imports umg_mm.datasets'):
        test_imports_run_down_the_layers(fake / 'bad.py')
