import copy
import importlib.util
import io
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_datasets.test_schema import MALFORMED
from umg_mm.datasets.schema import PROBLEM_KINDS
from tests.umg_fixtures import (encode_png, make_sample, make_samples, write_folder_tree,
                                write_index, write_shards, write_tar)

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
    samples = make_samples(12)  # distinct image.ids: one data set in three storage forms
    write_folder_tree(str(tmp_path / 'tree'), samples[:4])
    write_index(str(tmp_path / 'idx' / 'train.jsonl'), str(tmp_path / 'idx'), samples[4:8])
    write_shards(str(tmp_path / 'shards'), samples[8:], 2)
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
    samples = make_samples(4)
    index = write_index(str(tmp_path / 'train.jsonl'), str(tmp_path / 'images'), samples[:2])
    write_folder_tree(str(tmp_path / 'tree'), samples[2:])
    code, out, _ = _run(capsys, index, '--img-root', tmp_path / 'images', tmp_path / 'tree')
    assert code == 0 and 'checked 4 record(s)' in out


def _jpeg(img, exif_orientation=None) -> bytes:
    """JPEG bytes of a BGR image, with an EXIF orientation tag when given."""
    from PIL import Image
    buf = io.BytesIO()
    exif = Image.Exif()
    if exif_orientation is not None:
        exif[0x0112] = exif_orientation
    Image.fromarray(img[..., ::-1]).save(buf, 'JPEG', exif=exif.tobytes())
    return buf.getvalue()


def _jpeg_tree(tmp_path, samples):
    """A folder tree whose images are JPEGs (the records' file names changed to .jpg)."""
    for record, _ in samples:
        record['image']['file_name'] = record['image']['file_name'].replace('.png', '.jpg')
    paths = write_folder_tree(str(tmp_path), samples)
    for path, (record, img) in zip(paths, samples):
        (Path(path).parent / record['image']['file_name']).write_bytes(_jpeg(img))
    return paths


def test_truncated_image_is_caught_by_the_full_decode_not_by_the_header(tmp_path, capsys):
    paths = _jpeg_tree(tmp_path, make_samples(3))
    image = Path(paths[1]).with_suffix('.jpg')
    image.write_bytes(image.read_bytes()[:-200])
    code, out, _ = _run(capsys, tmp_path, '--headers-only')
    assert code == 0, out  # the header is intact
    code, out, _ = _run(capsys, tmp_path)
    assert code == 1
    [line] = _problem_lines(out)
    assert line.startswith(f'{paths[1]} image.file_name: cannot read image')
    assert 'truncated' in line and line.endswith('(unreadable_image)')


def test_exif_orientation_is_applied_as_the_loader_applies_it(tmp_path, capsys):
    from mmcv.transforms import LoadImageFromFile
    paths = _jpeg_tree(tmp_path, make_samples(2))
    image = Path(paths[0]).with_suffix('.jpg')
    _, img = make_sample(0)
    image.write_bytes(_jpeg(img, exif_orientation=6))  # rotated 90 degrees when loaded
    loaded = LoadImageFromFile()(dict(img_path=str(image)))['img']
    assert loaded.shape[:2] == (48, 32)  # what training gets: width and height swapped
    for flags in ((), ('--headers-only', ), ('--imdecode-backend', 'pillow')):
        code, out, _ = _run(capsys, tmp_path, *flags)
        assert code == 1, flags
        lines = _problem_lines(out)
        assert lines[0].startswith(f'{paths[0]} image: image.height/width say 32x48') and \
            'the image is 48x32' in lines[0] and lines[0].endswith('(image_size_mismatch)')
        # the boxes and masks are checked against the rotated size too; the other image is fine
        assert all(line.startswith(paths[0]) for line in lines) and '(mask_size)' in out


def test_empty_inputs_are_errors(tmp_path, capsys):
    (tmp_path / 'empty.jsonl').write_text('\n\n')
    (tmp_path / 'empty.json').write_text('{"schema": "umg/1", "records": []}')
    (tmp_path / 'tree').mkdir()
    write_tar(str(tmp_path / 'empty.tar'), [])
    for path in ('empty.jsonl', 'empty.json', 'tree', 'empty.tar'):
        code, out, _ = _run(capsys, tmp_path / path)
        assert code == 1, path
        [line] = _problem_lines(out)
        assert line.startswith(str(tmp_path / path)) and line.endswith('(empty_input)')
        assert 'checked 0 record(s): 1 problem(s)' in out


def test_invalid_utf8_is_reported_with_its_line_and_checking_goes_on(tmp_path, capsys):
    samples = make_samples(3)
    index = write_index(str(tmp_path / 'train.jsonl'), str(tmp_path), samples)
    lines = Path(index).read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'a white square', b'a white \xff\xfe square')
    Path(index).write_bytes(b''.join(lines))
    samples[2][0]['captions'] = ['']
    Path(index).write_bytes(b''.join(lines[:2]) + json.dumps(samples[2][0]).encode() + b'\n')
    code, out, _ = _run(capsys, index)
    assert code == 1
    problems = _problem_lines(out)
    assert problems[0].startswith(f'{index} [line 2]') and 'not UTF-8' in problems[0]
    assert problems[0].endswith('(invalid_utf8)')
    assert problems[1].startswith(f'{index} [line 3] captions[0]:')  # the next line is checked
    assert 'checked 3 record(s): 2 problem(s) in 2 record(s)' in out


def test_repeated_image_ids_are_flagged(tmp_path, capsys):
    samples = make_samples(3)
    samples[2][0]['image']['id'] = samples[0][0]['image']['id']
    index = write_index(str(tmp_path / 'train.jsonl'), str(tmp_path), samples)
    code, out, _ = _run(capsys, index)
    assert code == 1
    [line] = _problem_lines(out)
    assert line.startswith(f'{index} [line 3] image.id: image.id \'img_0000\' is also the id of '
                           f'{index} [line 1]') and line.endswith('(duplicate_id)')
    # another PATH (another split) may reuse the ids
    other = write_index(str(tmp_path / 'val.jsonl'), str(tmp_path), samples[:1])
    code, out, _ = _run(capsys, index, other)
    assert code == 1 and len(_problem_lines(out)) == 1


def test_truncated_shard_names_the_member_and_keeps_the_samples_before(tmp_path, capsys):
    [shard] = write_shards(str(tmp_path), make_samples(4), 1)
    data = Path(shard).read_bytes()
    Path(shard).write_bytes(data[:len(data) * 5 // 8])
    code, out, _ = _run(capsys, shard)
    assert code == 1
    [line] = _problem_lines(out)
    assert line.startswith(f'{shard} [member ') and 'after 2 complete sample(s)' in line
    assert line.endswith('(unreadable_shard)')
    assert 'checked 2 record(s)' in out


def test_one_run_lists_every_problem_of_every_input(tmp_path, capsys):
    (tmp_path / 'empty.jsonl').write_text('')
    samples = make_samples(2)
    samples[1][0]['tags'] = ['']
    index = write_index(str(tmp_path / 'a.jsonl'), str(tmp_path), samples)
    (tmp_path / 'bad.tar').write_bytes(b'garbage' * 100)
    code, out, _ = _run(capsys, tmp_path / 'empty.jsonl', index, tmp_path / 'bad.tar')
    assert code == 1
    kinds = [line.rsplit('(', 1)[1][:-1] for line in _problem_lines(out)]
    assert kinds == ['empty_input', 'empty_text', 'unreadable_shard']
