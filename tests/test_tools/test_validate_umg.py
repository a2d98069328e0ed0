import copy
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.test_datasets.test_schema import MALFORMED
from umg_mm.datasets.schema import PROBLEM_KINDS
from tests.umg_fixtures import (encode_png, make_samples, write_folder_tree, write_index,
                                write_shards, write_tar)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location('validate_umg',
                                               osp.join(ROOT, 'tools', 'validate_umg.py'))
validate_umg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(validate_umg)


def _run(capsys, *argv):
    code = validate_umg.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _problem_lines(out):
    """The printed problems: lines ending in ``(<kind>)``."""
    return [line for line in out.splitlines()
            if any(line.endswith(f'({kind})') for kind in PROBLEM_KINDS)]


def test_valid_data_in_every_form_exits_zero(tmp_path, capsys):
    samples = make_samples(4)
    write_folder_tree(str(tmp_path / 'tree'), samples)
    write_index(str(tmp_path / 'idx' / 'train.jsonl'), str(tmp_path / 'idx'), samples)
    write_shards(str(tmp_path / 'shards'), samples, 2)
    code, out, _ = _run(capsys, tmp_path / 'tree', tmp_path / 'idx' / 'train.jsonl',
                        tmp_path / 'shards' / 'shard-{0000..0001}.tar')
    assert code == 0
    assert 'checked 12 record(s): 0 problem(s) in 0 record(s), all valid' in out


@pytest.mark.parametrize('name', sorted(MALFORMED))
def test_every_malformed_record_kind_is_reported_with_file_and_field(tmp_path, capsys, name):
    mutate, kind, field = MALFORMED[name]
    samples = make_samples(3)
    samples[1] = (copy.deepcopy(samples[1][0]), samples[1][1])
    mutate(samples[1][0])
    write_folder_tree(str(tmp_path), samples)
    code, out, _ = _run(capsys, tmp_path, '--no-image-check')
    assert code == 1
    bad_file = osp.join(str(tmp_path), 'part1', 'img_0001.json')
    lines = _problem_lines(out)
    assert len(lines) == 1, out
    assert lines[0].startswith(f'{bad_file} {field}: ') and lines[0].endswith(f'({kind})')
    assert f'checked 3 record(s): 1 problem(s) in 1 record(s)' in out
    assert f'  {kind} ' in out  # the summary line of that kind


def test_image_problems_in_a_folder_tree(tmp_path, capsys):
    samples = make_samples(4)
    write_folder_tree(str(tmp_path), samples)
    (tmp_path / 'part0' / 'img_0000.png').unlink()
    (tmp_path / 'part1' / 'img_0001.png').write_bytes(b'not an image')
    samples[2][0]['image']['height'] = 30
    with open(tmp_path / 'part0' / 'img_0002.json', 'w') as f:
        json.dump(samples[2][0], f)
    (tmp_path / 'part1' / 'img_0003.json').write_text('{"schema": "umg/1",')
    code, out, _ = _run(capsys, tmp_path)
    assert code == 1
    lines = _problem_lines(out)
    assert any('part0/img_0000.json image.file_name: image' in l and 'does not exist' in l
               and '(missing_image)' in l for l in lines)
    assert any('part1/img_0001.json image.file_name: cannot read image' in l
               and '(unreadable_image)' in l for l in lines)
    assert any('part0/img_0002.json image: image.height/width say 30x48 but the image is '
               '32x48' in l and '(image_size_mismatch)' in l for l in lines)
    assert any('part1/img_0003.json' in l and '(invalid_json)' in l for l in lines)
    for kind in ('missing_image', 'unreadable_image', 'image_size_mismatch', 'invalid_json'):
        assert f'  {kind} ' in out


def test_index_file_reports_line_numbers_and_uses_img_root(tmp_path, capsys):
    samples = make_samples(3)
    index = write_index(str(tmp_path / 'train.jsonl'), str(tmp_path / 'images'), samples)
    with open(index, 'a') as f:
        f.write('\n{"schema": "umg/1", "image": \n')
    code, out, _ = _run(capsys, index, '--img-root', tmp_path / 'images')
    assert code == 1
    assert _problem_lines(out)[0].startswith(f'{index} [line 5]')
    assert '(invalid_json)' in out and 'checked 4 record(s): 1 problem(s)' in out
    # without --img-root, images are looked for beside the index file
    code, out, _ = _run(capsys, index)
    assert out.count('(missing_image)') == 3


def test_json_index_and_single_record_file(tmp_path, capsys):
    samples = make_samples(2)
    samples[0][0]['tags'] = ['']
    index = write_index(str(tmp_path / 'train.json'), str(tmp_path), samples)
    code, out, _ = _run(capsys, index)
    assert code == 1 and f'{index} [records[0]] tags[0]: empty tag' in out
    paths = write_folder_tree(str(tmp_path / 'tree'), make_samples(1))
    code, out, _ = _run(capsys, paths[0])
    assert code == 0 and 'checked 1 record(s)' in out


def test_shard_problems(tmp_path, capsys):
    samples = make_samples(6)
    samples[3][0]['segments'][0]['segmentation']['counts'] = '!!'
    write_shards(str(tmp_path), samples, 3)
    record, img = make_samples(1)[0]
    write_tar(str(tmp_path / 'shard-0003.tar'), [
        ('only_json.json', json.dumps(record).encode()), ('only_img.png', encode_png(img))])
    (tmp_path / 'shard-0004.tar').write_bytes(b'garbage' * 100)
    code, out, _ = _run(capsys, tmp_path / '*.tar')
    assert code == 1
    lines = _problem_lines(out)
    shard0 = str(tmp_path / 'shard-0000.tar')
    assert any(l.startswith(f'{shard0} [key img_0003] segments[0].segmentation.counts:')
               and '(bad_mask)' in l for l in lines)
    shard3 = str(tmp_path / 'shard-0003.tar')
    assert any(l.startswith(f'{shard3} [key only_json]') and '(missing_image)' in l
               for l in lines)
    assert any(l.startswith(f'{shard3} [key only_img]') and '(missing_annotation)' in l
               for l in lines)
    assert any(l.startswith(str(tmp_path / 'shard-0004.tar')) and '(unreadable_shard)' in l
               for l in lines)


def test_max_report_limits_the_listing_not_the_count(tmp_path, capsys):
    samples = make_samples(5)
    for record, _ in samples:
        record['captions'] = ['', '']
    write_folder_tree(str(tmp_path), samples)
    code, out, _ = _run(capsys, tmp_path, '--max-report', '3')
    assert code == 1 and len(_problem_lines(out)) == 3
    assert '... 7 more problem(s) not shown' in out
    assert 'checked 5 record(s): 10 problem(s) in 5 record(s)' in out
    assert '  empty_text                   10' in out
    code, out, _ = _run(capsys, tmp_path, '--max-report', '0')
    assert len(_problem_lines(out)) == 10


def test_progress_and_bad_arguments(tmp_path, capsys):
    write_folder_tree(str(tmp_path), make_samples(2))
    code, _, err = _run(capsys, tmp_path, '--progress')
    assert code == 0 and '2/2' in err  # a bar with a total for a folder tree
    shards = write_shards(str(tmp_path / 'shards'), make_samples(3), 1)
    code, _, err = _run(capsys, shards[0], '--progress')
    assert code == 0 and 'completed: 3' in err  # a counter for shards
    code, _, err = _run(capsys, tmp_path / 'nothing_here')
    assert code == 2 and 'does not exist' in err
    with pytest.raises(SystemExit) as exit_info:
        validate_umg.main([str(tmp_path), '--max-report', '-1'])
    assert exit_info.value.code == 2


def test_command_line(tmp_path):
    samples = make_samples(2)
    samples[0][0]['regions'][0]['bbox'] = [4, 4, 100, 12]
    write_folder_tree(str(tmp_path), samples)
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'validate_umg.py'),
                           str(tmp_path)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    assert 'img_0000.json regions[0].bbox:' in proc.stdout
    assert '(box_outside_image)' in proc.stdout


def test_paths_may_follow_options(tmp_path, capsys):
    samples = make_samples(2)
    index = write_index(str(tmp_path / 'train.jsonl'), str(tmp_path / 'images'), samples)
    write_folder_tree(str(tmp_path / 'tree'), samples)
    code, out, _ = _run(capsys, index, '--img-root', tmp_path / 'images', tmp_path / 'tree')
    assert code == 0 and 'checked 4 record(s)' in out
