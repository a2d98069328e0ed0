import json
import os.path as osp

import pytest


def test_cli_writes_a_world_with_the_given_options(tmp_path, capsys, load_tool):
    out = str(tmp_path / 'world')
    load_tool('make_synthetic_data.py').main([
        out, '--seed', '5', '--num-train', '6', '--num-val', '2', '--num-dev', '3',
        '--image-size', '48',
        '--held-out-things', 'ring', '--held-out-stuff', 'none', '--caption-noise', '0',
        '--shard-size', '4'])
    with open(osp.join(out, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['seed'] == 5
    assert meta['options']['image_size'] == 48
    assert {s: v['num_images'] for s, v in meta['splits'].items()} == dict(train=6, val=2, dev=3)
    assert meta['held_out'] == {'things': ['ring'], 'stuff': []}
    assert meta['splits']['train']['shards'] == ['umg/shards/train-000000.tar',
                                                 'umg/shards/train-000001.tar']
    printed = capsys.readouterr().out
    assert 'wrote 6 train, 2 val, 3 dev images' in printed
    assert 'held out of the train segmentation labels: ring' in printed


def test_cli_rejects_unknown_held_out_class(tmp_path, load_tool):
    with pytest.raises(ValueError, match="'lizard'"):
        load_tool('make_synthetic_data.py').main(
            [str(tmp_path / 'w'), '--held-out-things', 'lizard'])
    with pytest.raises(ValueError, match='num_dev=-2'):
        load_tool('make_synthetic_data.py').main([str(tmp_path / 'w'), '--num-dev', '-2'])
