"""tools/gpu_check.sh up to its GPU-only steps: the op checks on the CPU and the script's
commands (--dry-run)."""
import subprocess
from pathlib import Path

import torch

from umg_mm.benchmark.gpu_check import check_deformable_attention, check_roi_align

ROOT = Path(__file__).resolve().parents[2]
CPU = torch.device('cpu')


def test_op_checks_pass_on_the_cpu():
    roi = check_roi_align(CPU)  # mmcv's CPU kernel vs torchvision
    assert roi['ok'] and roi['max_abs_diff'] < 1e-5
    deform = check_deformable_attention(CPU)
    assert deform['ok'] and deform['max_abs_diff'] < 1e-5


def test_script_dry_run_names_every_step(tmp_path):
    out = subprocess.run(['bash', str(ROOT / 'tools/gpu_check.sh'), '--dry-run', '--out',
                          str(tmp_path), '--mmcv-sdist', 'mmcv-2.1.0.tar.gz'],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert '-m umg_mm.benchmark.gpu_check --device cuda' in out.stdout
    assert 'tools/benchmark.py --device cuda' in out.stdout
