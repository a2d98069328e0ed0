"""Tiny checkpoints of the four model types and their inferencers, built once per session."""
import pytest

from tests.test_apis.tiny_models import make_checkpoint, tiny_config, write_images
from umg_mm.apis import UMGInferencer

KINDS = ('pretrainer', 'semantic', 'panoptic', 'zero_shot')


@pytest.fixture(scope='session')
def ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp('ckpts')
    return {kind: make_checkpoint(kind, folder / f'{kind}.pth') for kind in KINDS}


@pytest.fixture(scope='session')
def inferencers(ckpts):
    return {kind: UMGInferencer(tiny_config(kind), str(path), device='cpu')
            for kind, path in ckpts.items()}


@pytest.fixture(scope='session')
def images(tmp_path_factory):
    return [str(p) for p in write_images(tmp_path_factory.mktemp('images'), 3)]
