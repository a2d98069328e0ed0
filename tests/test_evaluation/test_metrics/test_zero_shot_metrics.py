"""The four zero-shot metrics reproduce hand-computed values on tiny fixtures."""
import pytest
import torch

from umg_mm.evaluation.metrics import (DenseZeroShotIoUMetric, ImageTextRetrievalMetric,
                                       RegionRecognitionMetric, ZeroShotClassificationMetric)


def _evaluate(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_classification_top_k_with_candidate_classes_and_split(tmp_path):
    labels = tmp_path / 'val.txt'
    labels.write_text('a.jpg 0\nsub/b.jpg 2\nc.jpg 1\n')
    metric = ZeroShotClassificationMetric(
        vocabulary=['circle', 'square', 'star', 'sky'], classes=['circle', 'square', 'star'],
        seen_classes=['circle', 'square', 'sky'], label_file=str(labels), topk=(1, 2))
    scores = {'a.jpg': [0.9, 0.1, 0.5, 5.0],  # sky scores highest but is no candidate: right
              'b.jpg': [0.2, 0.8, 0.3, 0.0],  # star (label) second
              'c.jpg': [0.7, 0.6, 0.1, 0.0]}  # square (label) second
    result = _evaluate(metric, [dict(img_path=f'/data/{name}', pred_img_scores=torch.tensor(s))
                                for name, s in scores.items()])
    assert result == pytest.approx({'top1': 100 / 3, 'top2': 100., 'top1_seen': 50.,
                                    'top2_seen': 100., 'top1_held_out': 0.,
                                    'top2_held_out': 100.})


def test_classification_errors(tmp_path):
    bad = tmp_path / 'bad.txt'
    bad.write_text('a.jpg 7\n')
    with pytest.raises(ValueError, match='line 1'):
        ZeroShotClassificationMetric(vocabulary=['a', 'b'], label_file=str(bad))
    good = tmp_path / 'good.txt'
    good.write_text('a.jpg 1\n')
    metric = ZeroShotClassificationMetric(vocabulary=['a', 'b'], label_file=str(good))
    with pytest.raises(ValueError, match='scored 3 classes'):
        metric.process({}, [dict(img_path='a.jpg', pred_img_scores=torch.zeros(3))])
    with pytest.raises(KeyError, match='x.jpg has no label'):
        metric.process({}, [dict(img_path='x.jpg', pred_img_scores=torch.zeros(2))])


def _retrieval_samples(strings):
    images = [[1., 0.], [0., 1.], [0.8, 0.6]]
    texts = [[0.6, 0.8], [0., 1.], [1., 0.]]
    tags = [['star'], ['circle'], ['circle']]
    return [dict(img_embedding=torch.tensor(i), text_embedding=torch.tensor(t), img_text=s,
                 img_tags=g) for i, t, s, g in zip(images, texts, strings, tags)] + \
        [dict(img_embedding=torch.tensor([1., 0.]), img_text=None, img_tags=[])]  # no caption


def test_retrieval_recall_both_ways_hand_computed():
    # similarities (rows: images, columns: texts): (.6 0 1), (.8 1 0), (.96 .6 .8)
    metric = ImageTextRetrievalMetric(vocabulary=['circle', 'star'], seen_classes=['circle'],
                                      topk=(1, 2))
    result = _evaluate(metric, _retrieval_samples(['x', 'y', 'z']))
    # i2t ranks of the own caption: 1, 0, 1; t2i: 2, 0, 1; image 0 holds the held-out star
    assert result == pytest.approx({
        'i2t_R@1': 100 / 3, 'i2t_R@1_seen': 50., 'i2t_R@1_held_out': 0.,
        'i2t_R@2': 100., 'i2t_R@2_seen': 100., 'i2t_R@2_held_out': 100.,
        't2i_R@1': 100 / 3, 't2i_R@1_seen': 50., 't2i_R@1_held_out': 0.,
        't2i_R@2': 200 / 3, 't2i_R@2_seen': 100., 't2i_R@2_held_out': 0.})


def test_retrieval_counts_identical_captions_as_correct():
    metric = ImageTextRetrievalMetric(topk=(1,))
    # texts 0 and 2 are the same string: image 0 finds text 2 (sim 1) first, image 2 text 0
    assert _evaluate(metric, _retrieval_samples(['x', 'y', 'x'])) == pytest.approx(
        {'i2t_R@1': 100., 't2i_R@1': 100.})


def test_region_recognition_top1_and_mean_accuracy():
    metric = RegionRecognitionMetric(vocabulary=['circle', 'square', 'star'],
                                     seen_classes=['circle', 'square'])
    samples = [
        dict(pred_region_scores=torch.tensor([[.9, .1, .0], [.2, .3, .8]]),
             gt_instances=dict(tags=[['circle'], ['star']])),
        dict(pred_region_scores=torch.tensor([[.5, .4, .1], [.1, .2, .3], [1., 0., 0.]]),
             gt_instances=dict(tags=[['square'], ['big', 'square'], ['unknown']])),
        dict(pred_region_scores=torch.zeros(0, 3), gt_instances=dict(tags=[])),
    ]
    result = _evaluate(metric, samples)
    # 2 of 4 right; per class: circle 1/1, star 1/1, square 0/2
    assert result == pytest.approx({'top1': 50., 'mean_acc': 200 / 3,
                                    'top1_seen': 100 / 3, 'mean_acc_seen': 50.,
                                    'top1_held_out': 100., 'mean_acc_held_out': 100.})


def test_region_recognition_among_candidate_classes():
    metric = RegionRecognitionMetric(vocabulary=['circle', 'square', 'sky'],
                                     classes=['circle', 'square'])
    samples = [dict(pred_region_scores=torch.tensor([[.1, .2, .9], [.3, .2, .9], [0., 0., 1.]]),
                    gt_instances=dict(tags=[['square'], ['square'], ['sky']]))]
    # sky (no candidate) is ignored in the scores and as a ground truth: 1 of 2 right
    assert _evaluate(metric, samples) == pytest.approx({'top1': 50., 'mean_acc': 50.})


def test_dense_miou_from_segments_hand_computed():
    metric = DenseZeroShotIoUMetric(vocabulary=['circle', 'sky', 'grass'],
                                    seen_classes=['Circle', 'sky'])
    masks = torch.zeros(4, 4, 4, dtype=torch.bool)  # padded beyond the 2x3 prediction
    masks[0, 0, 0] = True  # circle
    masks[1, 0, 1:3] = True  # sky
    masks[1, 1, 0] = True
    masks[2, 1, 2] = True  # grass
    masks[3, 1, 1] = True  # a tag outside the vocabulary: ignored
    sample = dict(pred_sem_seg=dict(data=torch.tensor([[[0, 1, 1], [2, 2, 1]]])),
                  gt_segments=dict(masks=masks, tags=[['circle'], ['sky'], ['grass'], ['cat']]))
    # IoU: circle 1/1, sky 2/4 (pred 3 px, gt 3 px, 2 shared), grass 0/2
    assert _evaluate(metric, [sample]) == pytest.approx(
        {'mIoU': 50., 'mIoU_seen': 75., 'mIoU_held_out': 0.})


def test_no_split_when_every_class_was_seen():
    metric = RegionRecognitionMetric(vocabulary=['cat', 'dog'], seen_classes=['dog', 'CAT'])
    assert not metric.split.has_split and metric.split.held_out.tolist() == [False, False]
    samples = [dict(pred_region_scores=torch.tensor([[.9, .1]]), gt_instances=dict(tags=[['cat']]))]
    assert _evaluate(metric, samples) == pytest.approx({'top1': 100., 'mean_acc': 100.})
