"""tools/build_pseudo_annotations.py: the command line, and a run killed with SIGKILL then
re-run: no record lost or written twice."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_data_engine.tiny_engine import engine_stages, tiny_model_files, write_images
from umg_mm.datasets.umg_sources import check_source_record, iter_folder_records

ROOT = Path(__file__).resolve().parents[2]
TOOL = str(ROOT / 'tools' / 'build_pseudo_annotations.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp('engine')
    files = tiny_model_files(folder)
    config = folder / 'engine.py'
    config.write_text(f'shard_size = 1\noutput_format = "folder"\n'
                      f'stages = {engine_stages(files)!r}\n')
    write_images(folder / 'images', 12, size=(48, 64))
    return folder, str(config)


def _tool(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, TOOL] + args, cwd=str(ROOT), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kwargs)


def test_kill_9_then_rerun_loses_and_repeats_nothing(setup):
    folder, config = setup
    out = folder / 'out'
    args = [str(folder / 'images'), str(out), '--config', config, '--device', 'cpu']
    proc = _tool(args)
    markers = out / 'progress'
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if markers.is_dir() and len(_markers(markers)) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, 'the run ended before it could be killed:\n' + proc.stdout.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    finished = len(_markers(markers))  # a marker being written is a .tmp<pid> file
    assert 3 <= finished < 12
    # every record on disk parses and is valid (writes are atomic), none is missing its marker
    # except the shard in progress
    partial = _valid(out)
    assert len(partial) >= finished

    rerun = _tool(args + ['--no-progress'])
    output, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, output
    assert f'{finished} done already' in output
    records = _valid(out)
    keys = [r['image']['id'] for r in records]
    assert sorted(keys) == sorted(f'img{i}' for i in range(12))  # each exactly once
    assert len(_markers(markers)) == 12 == len(os.listdir(markers))  # no stale temporary
    with open(out / 'summary.json') as f:
        summary = json.load(f)
    assert summary['kept']['images'] == 12 and summary['stages']['tag']['images'] == 12
    assert '| kept (written) | 12 |' in output


def _markers(folder: Path) -> list:
    return [name for name in os.listdir(folder) if name.endswith('.json')]


def _valid(out: Path) -> list:
    records = []
    for src in iter_folder_records(str(out / 'data')):
        assert check_source_record(src, check_image=True) == []
        records.append(src.record)
    return records


def test_bad_arguments_are_reported(setup):
    folder, config = setup
    proc = _tool([str(folder / 'nothing'), str(folder / 'o'), '--config', config])
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0 and 'neither a folder' in output
    proc = _tool([str(folder / 'images'), str(folder / 'o'), '--config', config,
                  '--worker', 'x'])
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 2 and '--worker' in output
