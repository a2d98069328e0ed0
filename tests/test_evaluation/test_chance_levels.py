"""Chance levels: the closed forms against enumeration, and every value against the metrics
themselves fed random predictions on a tiny world (Monte-Carlo)."""
import itertools
import json
import math
import os
import os.path as osp

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch

from umg_mm.datasets.synthetic import SyntheticWorldConfig, generate_synthetic_world
from umg_mm.evaluation.chance_levels import (chance_levels, expected_average_precision,
                                             expected_recall_at_k)
from umg_mm.evaluation.metrics import (DenseZeroShotIoUMetric, ImageTextRetrievalMetric,
                                       OpenVocabIoUMetric, RegionRecognitionMetric,
                                       ZeroShotClassificationMetric, ZeroShotMultiLabelMetric)

TRIALS = 150


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('chance') / 'world')
    generate_synthetic_world(root, SyntheticWorldConfig(seed=2, num_train=2, num_val=30,
                                                        num_dev=6, image_size=32))
    return root


@pytest.mark.parametrize('n', [1, 2, 5, 6])
def test_expected_average_precision_equals_enumeration(n):
    for m in range(1, n + 1):
        aps = []
        for positives in itertools.combinations(range(n), m):  # ranks of the positives
            aps.append(np.mean([(j + 1) / (r + 1) for j, r in enumerate(positives)]))
        assert expected_average_precision(n, m) == pytest.approx(np.mean(aps))
    with pytest.raises(ValueError, match='0 < num_positives <= num_images'):
        expected_average_precision(3, 0)


def test_expected_recall_at_k_equals_enumeration():
    n = 6
    for c, k in itertools.product(range(1, n + 1), range(1, n + 2)):
        found = [any(p < k for p in ranks) for ranks in itertools.combinations(range(n), c)]
        assert expected_recall_at_k(np.array([c]), n, k)[0] == pytest.approx(np.mean(found))


def _read(root, split):
    with open(osp.join(root, 'umg', f'{split}.jsonl')) as f:
        return [json.loads(line) for line in f]


def _metrics(root, split):
    vocab = osp.join(root, 'vocabularies', 'all.txt')
    seen = osp.join(root, 'vocabularies', 'seen.txt')
    things = osp.join(root, 'vocabularies', 'things.txt')
    semantic = OpenVocabIoUMetric(seen_classes=seen, iou_metrics=['mIoU'])
    with open(vocab) as f:
        semantic.dataset_meta = dict(classes=f.read().split())
    return {
        'zero_shot_cls/': [
            ZeroShotClassificationMetric(vocabulary=vocab, seen_classes=seen, classes=things,
                                         label_file=osp.join(root, 'image_labels',
                                                             f'{split}.txt')),
            ZeroShotMultiLabelMetric(vocabulary=vocab, seen_classes=seen, label_file=osp.join(
                root, 'image_labels', f'{split}_multilabel.json'))],
        'retrieval/': [ImageTextRetrievalMetric(vocabulary=vocab, seen_classes=seen)],
        'region/': [RegionRecognitionMetric(vocabulary=vocab, seen_classes=seen, classes=things)],
        'dense/': [DenseZeroShotIoUMetric(vocabulary=vocab, seen_classes=seen)],
        '': [semantic],
    }


def _random_samples(root, split, records, rng):
    """One random prediction per image, in the form each metric reads."""
    samples = []
    for rec in records:
        stem = rec['image']['id']
        h, w = rec['image']['height'], rec['image']['width']
        gt = cv2.imread(osp.join(root, 'seg_maps', split, f'{stem}.png'), cv2.IMREAD_UNCHANGED)
        pred = torch.from_numpy(rng.integers(0, 17, (1, h, w)))
        samples.append(dict(
            img_path=rec['image']['file_name'],
            pred_img_scores=torch.from_numpy(rng.random(17)),
            img_embedding=torch.from_numpy(rng.standard_normal(16)),
            text_embedding=torch.from_numpy(rng.standard_normal(16)),
            img_text=rec['captions'][0], img_tags=rec['tags'],
            pred_region_scores=torch.from_numpy(rng.random((len(rec['regions']), 17))),
            gt_instances=dict(tags=[r['tags'] for r in rec['regions']]),
            pred_sem_seg=dict(data=pred),
            gt_segments=dict(masks=[mask_utils.decode(s['segmentation']) for s in rec['segments']],
                             tags=[s['tags'] for s in rec['segments']]),
            gt_sem_seg=dict(data=torch.from_numpy(gt.astype(np.int64))[None])))
    return samples


@pytest.mark.parametrize('split', ['val', 'dev'])
def test_chance_levels_match_the_metrics_on_random_predictions(world, split):
    levels = chance_levels(world, split)
    records = _read(world, split)
    rng = np.random.default_rng(0)
    trials = {}
    for trial in range(TRIALS if split == 'val' else 40):
        samples = _random_samples(world, split, records, rng)
        for prefix, metrics in _metrics(world, split).items():
            if prefix in ('dense/', '') and trial >= 20:
                continue  # pixel metrics vary little from one trial to the next
            for metric in metrics:
                metric.process({}, samples)
                for key, value in metric.compute_metrics(metric.results).items():
                    trials.setdefault(prefix + key, []).append(value)
    simulated = {k: np.array(v, dtype=float) for k, v in trials.items()
                 if np.isscalar(v[0]) and not np.isnan(v).any()}
    covered = {k for k in levels if not k.startswith(('coco_panoptic/', 'panoptic_semseg/'))}
    assert covered <= set(simulated), sorted(covered - set(simulated))
    assert set(simulated) - {'aAcc', 'mAcc'} <= covered  # every other metric key has a level
    for key in sorted(covered):
        values = simulated[key]
        tolerance = 4 * values.std() / math.sqrt(len(values)) + 0.1
        assert levels[key] == pytest.approx(values.mean(), abs=tolerance), key
    assert levels['zero_shot_cls/top1'] == pytest.approx(10.)
    assert levels['zero_shot_cls/top5'] == pytest.approx(50.)
    assert levels['region/top1'] == pytest.approx(10.)
    assert levels['panoptic_semseg/mIoU'] == levels['mIoU']


def test_chance_levels_keys_and_panoptic(world):
    levels = chance_levels(world)
    for key in ('zero_shot_cls/mAP', 'zero_shot_cls/any_top1', 'retrieval/i2t_R@1',
                'retrieval/t2i_R@1', 'region/mean_acc', 'dense/mIoU', 'mIoU',
                'mIoU_held_out', 'zero_shot_cls/mAP_held_out'):
        assert 0 < levels[key] < 100, key
    assert {k: v for k, v in levels.items() if k.startswith('coco_panoptic/')} == {
        f'coco_panoptic/{m}{g}': 0. for m in ('PQ', 'SQ', 'RQ')
        for g in ('', '_th', '_st', '_seen', '_held_out')}
    # a class in many images is easier to rank by chance: mAP above the 1/N of a rare class
    assert levels['zero_shot_cls/mAP'] > 100 / 30


def test_missing_split_or_file_is_refused(tmp_path):
    root = str(tmp_path / 'no_dev')
    generate_synthetic_world(root, SyntheticWorldConfig(num_train=1, num_val=1, num_dev=0,
                                                        image_size=32))
    with pytest.raises(ValueError, match="has no 'dev' split; it has \\['train', 'val'\\]"):
        chance_levels(root, 'dev')
    os.remove(osp.join(root, 'image_labels', 'val_multilabel.json'))
    with pytest.raises(FileNotFoundError, match='val_multilabel.json is missing.*--overwrite'):
        chance_levels(root, 'val')
