"""The synthetic world read by the stock OpenMMLab readers (mmdet, mmseg, pycocotools)."""
import json
import os.path as osp

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from mmengine.registry import init_default_scope
from pycocotools.coco import COCO

from umg_mm.datasets.synthetic import ALL_CLASSES, SyntheticWorldConfig, generate_synthetic_world


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('readers') / 'synthetic')
    generate_synthetic_world(out, SyntheticWorldConfig(seed=1, num_train=12, num_val=6,
                                                       num_dev=2, image_size=64))
    return out


def _vocab(root, name):
    with open(osp.join(root, 'vocabularies', f'{name}.txt')) as f:
        return f.read().split()


def _records(root, split):
    with open(osp.join(root, 'umg', f'{split}.jsonl')) as f:
        return {json.loads(line)['image']['file_name']: json.loads(line) for line in f}


def test_mmdet_coco_panoptic_dataset_reads_train_with_seen_classes(root):
    from mmdet.datasets import CocoPanopticDataset
    init_default_scope('mmdet')
    things, stuff = _vocab(root, 'seen_things'), _vocab(root, 'seen_stuff')
    dataset = CocoPanopticDataset(
        data_root=root, ann_file='annotations/panoptic_train.json',
        data_prefix=dict(img='images/train/', seg='annotations/panoptic_train/'),
        metainfo=dict(classes=things + stuff, thing_classes=things, stuff_classes=stuff),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadPanopticAnnotations', backend_args=None)])
    assert len(dataset) == 12
    records = _records(root, 'train')
    for idx in (0, 5):
        item = dataset[idx]
        rec = records[osp.basename(item['img_path'])]
        seen_things = [s for s in rec['segments'] if s['isthing'] and s['tags'][0] in things]
        assert item['img'].shape == (64, 64, 3)
        assert len(item['gt_masks']) == len(seen_things)
        assert item['gt_bboxes_labels'].tolist() == [things.index(s['tags'][0])
                                                     for s in seen_things]
        expected = np.full((64, 64), 255)
        for seg in rec['segments']:
            name = seg['tags'][0]
            if name in things + stuff:
                expected[mask_utils.decode(seg['segmentation']).astype(bool)] = (
                    things + stuff).index(name)
        assert (item['gt_seg_map'] == expected).all()


def test_mmseg_base_seg_dataset_reads_val_with_all_classes(root):
    from mmseg.datasets import BaseSegDataset
    dataset = BaseSegDataset(
        data_root=root, data_prefix=dict(img_path='images/val', seg_map_path='seg_maps/val'),
        img_suffix='.jpg', seg_map_suffix='.png', metainfo=dict(classes=_vocab(root, 'all')),
        pipeline=[dict(type='mmseg.LoadImageFromFile'), dict(type='mmseg.LoadAnnotations')])
    assert len(dataset) == 6
    records = _records(root, 'val')
    item = dataset[2]
    rec = records[osp.basename(item['img_path'])]
    expected = np.full((64, 64), 255)
    for seg in rec['segments']:
        expected[mask_utils.decode(seg['segmentation']).astype(bool)] = ALL_CLASSES.index(
            seg['tags'][0])
    assert (item['gt_seg_map'] == expected).all()


def test_pycocotools_reads_instances(root):
    coco = COCO(osp.join(root, 'annotations', 'instances_val.json'))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(ALL_CLASSES[:10])
    records = _records(root, 'val')
    n_things = sum(s['isthing'] for r in records.values() for s in r['segments'])
    assert len(coco.getAnnIds()) == n_things
    ann = coco.loadAnns(coco.getAnnIds())[0]
    mask = coco.annToMask(ann)
    assert mask.sum() == ann['area']
    x, y, w, h = ann['bbox']
    ys, xs = np.nonzero(mask)
    assert (x, y, x + w, y + h) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
