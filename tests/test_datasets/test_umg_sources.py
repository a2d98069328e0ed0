import os.path as osp

import pytest

from tests.umg_fixtures import make_samples, write_shards
from umg_mm.datasets.umg_sources import (expand_shards, iter_folder_records, iter_shard_records,
                                         read_image_size)


def test_expand_shards_brace_glob_and_list(tmp_path):
    paths = write_shards(str(tmp_path), make_samples(3), 3)
    brace = expand_shards(str(tmp_path / 'shard-{0000..0002}.tar'))
    assert brace == paths
    assert expand_shards(str(tmp_path / 'shard-000[02].tar')) == [paths[0], paths[2]]
    assert expand_shards([paths[2], str(tmp_path / 'shard-000[01].tar')]) == [
        paths[2], paths[0], paths[1]]
    with pytest.raises(FileNotFoundError, match='matches no file'):
        expand_shards(str(tmp_path / 'nothing-*.tar'))


def test_shard_records_carry_bytes_and_keys(tmp_path):
    paths = write_shards(str(tmp_path), make_samples(2, height=16, width=24), 1)
    records = list(iter_shard_records(paths))
    assert [r.record_id for r in records] == ['key img_0000', 'key img_0001']
    assert records[0].img_path == f'{paths[0]}#img_0000.png'
    assert read_image_size(records[0].img_bytes) == (16, 24)
    assert all(r.from_shard and not r.problems for r in records)


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        list(iter_folder_records(osp.join(str(tmp_path), 'absent')))
