"""The synthetic semantic recipe through the stock tools: tools/train.py (train on the seen
classes, validate on all), then tools/test.py with another vocabulary given on the command line:
the predictions are over the new classes, without retraining."""
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / 'configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py')
SHORT = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
         'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2',
         'test_dataloader.batch_size=2',
         # no pretrained tiny CLIP here: random towers, said explicitly
         'model.backbone.checkpoint=random', 'model.text_encoder.checkpoint=random']


def _run(cmd, cwd):
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                                [str(ROOT), os.environ.get('PYTHONPATH', '')])))
    assert result.returncode == 0, f'{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}'
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def cwd(tmp_path_factory):
    """A working folder with a small world at data/synthetic, where the config looks."""
    cwd = tmp_path_factory.mktemp('cwd')
    _run([sys.executable, str(ROOT / 'tools/make_synthetic_data.py'), 'data/synthetic',
          '--num-train', '8', '--num-val', '4', '--num-dev', '2', '--image-size', '64'], cwd)
    return cwd


def test_train_then_test_with_a_new_vocabulary(cwd):
    log = _run([sys.executable, str(ROOT / 'tools/train.py'), CONFIG, '--work-dir', 'work',
                '--cfg-options', *SHORT], cwd)
    assert 'val vocabulary: 17 classes (' in log
    assert 'mIoU_held_out' in log

    (cwd / 'new.txt').write_text('red shape\nblue shape\nsky, heaven\nlawn\nsea, water\n')
    log = _run([sys.executable, str(ROOT / 'tools/test.py'), CONFIG, 'work/iter_2.pth',
                '--work-dir', 'test', '--out', 'preds.pkl', '--cfg-options', *SHORT,
                'test_dataloader.dataset.vocabulary=new.txt',
                # the 17-class label maps do not match the 5 names: predictions only
                'test_dataloader.dataset.check_labels=False',
                'model.test_cfg.output_logits=True'], cwd)  # mmseg's seg_logits kept
    assert 'test vocabulary: 5 classes (' in log
    with open(cwd / 'preds.pkl', 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 4
    for pred in preds:
        assert pred['seg_logits']['data'].shape[0] == 5
        assert int(pred['pred_sem_seg']['data'].max()) < 5
