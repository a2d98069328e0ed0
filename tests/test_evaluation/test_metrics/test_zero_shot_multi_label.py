"""ZeroShotMultiLabelMetric on hand-made score tables, and its label-file errors."""
import json

import pytest
import torch

from umg_mm.evaluation.metrics import ZeroShotMultiLabelMetric

VOCABULARY = ['circle', 'square', 'star', 'ring', 'sky']
CLASSES = ['circle', 'square', 'star', 'ring']  # ring is in no image: left out of mAP
LABELS = {'a.jpg': [0], 'b.jpg': [1, 2], 'c.jpg': [2]}
PERFECT = {'a.jpg': [1., 0., 0., 0., 5.],  # sky is no candidate: circle ranks first
           'b.jpg': [0., 1., .9, 0., 0.],
           'c.jpg': [0., 0., 1., 0., 0.]}


def _label_file(tmp_path, content):
    path = tmp_path / 'labels.json'
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def _metric(tmp_path, **kwargs):
    content = dict(metainfo=dict(classes=CLASSES),
                   data_list=[dict(img_path=f'images/{n}', gt_label=v) for n, v in LABELS.items()])
    return ZeroShotMultiLabelMetric(
        vocabulary=VOCABULARY, label_file=_label_file(tmp_path, content),
        seen_classes=['circle', 'square', 'ring', 'sky'], **kwargs)


def _evaluate(metric, scores):
    metric.process({}, [dict(img_path=f'/data/{name}', pred_img_scores=torch.tensor(s))
                        for name, s in scores.items()])
    return metric.compute_metrics(metric.results)


def test_perfect_ranking_scores_100(tmp_path):
    result = _evaluate(_metric(tmp_path), PERFECT)
    assert result == pytest.approx({k: 100. for k in (
        'mAP', 'mAP_seen', 'mAP_held_out', 'any_top1', 'any_top1_seen', 'any_top1_held_out')})


def test_reversed_ranking_hand_computed(tmp_path):
    reversed_scores = {n: [-x for x in s[:4]] + [0.] for n, s in PERFECT.items()}
    result = _evaluate(_metric(tmp_path), reversed_scores)
    # AP: circle's and square's one positive ranks 3rd of 3: 1/3; star's two rank 2nd and 3rd:
    # (1/2 + 2/3) / 2 = 7/12. No image has a present class first (ties: the first column).
    assert result == pytest.approx({
        'mAP': 100 * (1 / 3 + 1 / 3 + 7 / 12) / 3, 'mAP_seen': 100 / 3,
        'mAP_held_out': 100 * 7 / 12, 'any_top1': 0., 'any_top1_seen': 0.,
        'any_top1_held_out': 0.})


def test_any_top1_subsets_hold_images_with_a_seen_or_held_out_class(tmp_path):
    scores = dict(PERFECT, **{'b.jpg': [0., 1., 2., 0., 0.],   # star (held out) first: hit
                              'c.jpg': [0., 1., 0., 0., 0.]})  # square first, c holds star
    result = _evaluate(_metric(tmp_path), scores)
    # seen subset: a (hit), b (hit, any present class); held-out subset: b (hit), c (miss)
    assert result['any_top1'] == pytest.approx(200 / 3)
    assert result['any_top1_seen'] == pytest.approx(100.)
    assert result['any_top1_held_out'] == pytest.approx(50.)


def test_without_metainfo_the_vocabulary_is_the_candidates(tmp_path):
    path = _label_file(tmp_path, dict(data_list=[dict(img_path='a.jpg', gt_label=[1])]))
    metric = ZeroShotMultiLabelMetric(vocabulary=['circle', 'square'], label_file=path)
    assert _evaluate(metric, {'a.jpg': [0., 1.]}) == pytest.approx(
        {'mAP': 100., 'any_top1': 100.})


@pytest.mark.parametrize('content, match', [
    ('{"data_list": [', 'is not JSON'),
    ({'metainfo': {'classes': CLASSES}}, '"data_list" must be a list'),
    ({'data_list': [{'gt_label': [0]}]}, r'data_list\[0\]\.img_path: missing'),
    ({'data_list': [{'img_path': 'a.jpg', 'gt_label': [0]},
                    {'img_path': 'b.jpg', 'gt_label': 2}]}, r'data_list\[1\]\.gt_label: 2 is not'),
    ({'metainfo': {'classes': CLASSES}, 'data_list': [{'img_path': 'a.jpg', 'gt_label': [4]}]},
     r'data_list\[0\]\.gt_label: \[4\] outside 0..3'),
    ({'metainfo': {'classes': ['circle', 'moon']}, 'data_list': []},
     r"metainfo.classes \['moon'\] are not in the vocabulary"),
    ({'data_list': [{'img_path': 'a.jpg', 'gt_label': [7]}]},
     r'gt_label indices \[7\] are not indices into the 5 vocabulary classes'),
])
def test_malformed_label_file_names_file_record_and_field(tmp_path, content, match):
    path = _label_file(tmp_path, content)
    with pytest.raises(ValueError, match=match) as error:
        ZeroShotMultiLabelMetric(vocabulary=VOCABULARY, label_file=path)
    assert path in str(error.value)


def test_scores_and_images_are_checked(tmp_path):
    metric = _metric(tmp_path)
    with pytest.raises(ValueError, match='scored 3 classes'):
        metric.process({}, [dict(img_path='a.jpg', pred_img_scores=torch.zeros(3))])
    with pytest.raises(KeyError, match='x.jpg has no record in'):
        metric.process({}, [dict(img_path='x.jpg', pred_img_scores=torch.zeros(5))])
