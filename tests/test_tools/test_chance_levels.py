import json

import pytest

from umg_mm.datasets.synthetic import SyntheticWorldConfig, generate_synthetic_world
from umg_mm.evaluation.chance_levels import chance_levels


def test_prints_a_table_and_writes_json(tmp_path, capsys, load_tool):
    world = str(tmp_path / 'world')
    generate_synthetic_world(world, SyntheticWorldConfig(num_train=1, num_val=8, num_dev=4,
                                                         image_size=32))
    out = tmp_path / 'chance.json'
    load_tool('analysis_tools/chance_levels.py').main([world, '--split', 'dev', '--out',
                                                       str(out)])
    saved = json.loads(out.read_text())
    assert saved['split'] == 'dev' and saved['chance_levels'] == pytest.approx(
        chance_levels(world, 'dev'))
    printed = capsys.readouterr().out
    assert '| metric | chance (%) | seen | held-out |' in printed
    assert '| zero_shot_cls/top1 | 10.00 |' in printed
    assert '| coco_panoptic/PQ | 0.00 | 0.00 |' in printed
    rows = [line for line in printed.split('\n') if line.startswith('| ')]
    assert not any(row.startswith(('| mIoU_seen', '| dense/mIoU_held_out')) for row in rows)
    assert str(out) in printed
