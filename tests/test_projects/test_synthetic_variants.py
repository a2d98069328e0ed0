"""The projects' synthetic-world configs (the ones their READMEs measure) run end to end on a small
world this test writes: the training dataset yields a packed sample through the training
pipeline, and the Runner's test loop (dataset, pipeline, model, metrics) reports the metrics the
READMEs quote."""
import math
import os.path as osp

import pytest
from mmengine.registry import DATASETS
from mmengine.runner import Runner

from umg_mm.datasets.synthetic import SyntheticWorldConfig, generate_synthetic_world
from .project_configs import PROJECTS, project_config

CASES = {
    'panoptic': ('umg_mask2former_panoptic', 'umg-mask2former_clip-tiny_synthetic-64x64.py',
                 {'coco_panoptic/PQ', 'coco_panoptic/PQ_seen', 'coco_panoptic/PQ_held_out',
                  'panoptic_semseg/mIoU'}),
    'semseg': ('umg_backbone_ade20k_semseg', 'umg-clip-tiny_mask2former_synthetic-closed-64x64.py',
               {'mIoU', 'aAcc'}),
    'zeroshot': ('umg_clip_zeroshot_mmpretrain', 'umg-clip-tiny_zeroshot-cls_synthetic.py',
                 {'accuracy/top1', 'accuracy/top5'}),
}


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp('world') / 'synthetic'
    generate_synthetic_world(str(root), SyntheticWorldConfig(num_train=4, num_val=2,
                                                             num_dev=2, image_size=64))
    return str(root)


@pytest.mark.parametrize('case', sorted(CASES))
def test_synthetic_config_trains_data_and_tests_end_to_end(case, world, tmp_path, monkeypatch):
    project, name, expected = CASES[case]
    assert osp.isfile(osp.join(PROJECTS, project, 'configs', name))
    monkeypatch.setenv('UMG_SYNTHETIC_ROOT', world)
    cfg = project_config(project, name)
    assert cfg.test_dataloader.dataset.data_root.startswith(world)
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'test_{case}'
    cfg.test_dataloader.batch_size = 2
    runner = Runner.from_cfg(cfg)
    if cfg.get('train_dataloader'):
        with DATASETS.switch_scope_and_registry(cfg.default_scope) as registry:
            sample = registry.build(cfg.train_dataloader.dataset)[0]
        assert sample['inputs'].shape[0] == 3 and max(sample['inputs'].shape[-2:]) <= 64
        assert 'gt_sem_seg' in sample['data_samples']  # labels came through the pipeline
    metrics = runner.test()
    assert expected <= set(metrics), sorted(metrics)
    values = {key: float(metrics[key]) for key in expected}
    # percentages; a split with no class in these few images reports NaN
    assert all(math.isnan(v) or 0. <= v <= 100. for v in values.values()), values
    assert not math.isnan(values.get('coco_panoptic/PQ', values.get('mIoU', 0.)))
    if case == 'zeroshot':
        assert values['accuracy/top5'] >= values['accuracy/top1']
