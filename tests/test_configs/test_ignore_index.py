"""One ignore value per dataset config: the dataset (its label check) and the IoU metric agree.

A 16-bit benchmark (ADE-847, Pascal Context-459) whose metric ignores 65535 while its dataset
checks labels against 255 stops at the first map with unlabeled pixels; the reverse scores
unlabeled pixels as a class. Every shipped config is checked, found by listing the folders.
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'umg', '*.py')) +
                 glob.glob(osp.join(ROOT, 'projects', '*', 'configs', '*.py')))
MMSEG_IGNORE = 255  # BaseSegDataset's and IoUMetric's default


def _iou_metrics(evaluator):
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    return [m for m in metrics if m and 'IoU' in str(m.get('type', ''))]


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_dataset_and_metric_share_the_ignore_value(path):
    cfg = Config.fromfile(path)
    for loader, evaluator in (('val_dataloader', 'val_evaluator'),
                              ('test_dataloader', 'test_evaluator')):
        dataset = (cfg.get(loader) or {}).get('dataset')
        if dataset is None or 'ignore_index' not in dataset and not _iou_metrics(
                cfg.get(evaluator)):
            continue
        for metric in _iou_metrics(cfg.get(evaluator)):
            assert metric.get('ignore_index', MMSEG_IGNORE) == \
                dataset.get('ignore_index', MMSEG_IGNORE), (
                    f'{path}: {loader}.dataset ignore_index '
                    f'{dataset.get("ignore_index", MMSEG_IGNORE)} but {evaluator} '
                    f'{metric["type"]} ignore_index {metric.get("ignore_index", MMSEG_IGNORE)}')
