"""OpenVocabEncoderDecoder with the Mask2Former text-classifier head: train on one vocabulary,
predict over another (whole and sliding-window), text embedded once per vocabulary."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import umg_mm  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
SYNTHETIC_CONFIG = 'configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py'
TRAIN_VOCAB = ['circle', 'square', 'sky', 'grass']
NEW_VOCAB = ['heart', 'star, pentagram', 'brick', 'water', 'snow']


def build_segmentor(ensemble=True):
    """The synthetic recipe's segmentor (tiny CLIP, random weights) over TRAIN_VOCAB; with or
    without its two parts that read CLIP's dense embeddings (ensemble and fallback)."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, SYNTHETIC_CONFIG)).model
    cfg.train_vocabulary = TRAIN_VOCAB
    for part in ('ensemble', 'fallback'):
        cfg[part] = dict(cfg[part], seen_classes=TRAIN_VOCAB) if ensemble else None
    cfg.decode_head.num_queries = 4
    cfg.decode_head.train_cfg.num_points = 64
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(num=2, size=32, num_classes=len(TRAIN_VOCAB)):
    out = []
    for i in range(num):
        labels = torch.randint(0, num_classes, (1, size, size))
        labels[:, :4] = 255  # an ignored band
        meta = dict(img_shape=(size, size), pad_shape=(size, size), ori_shape=(size, size))
        out.append(SegDataSample(gt_sem_seg=PixelData(data=labels), metainfo=meta))
    return out


@pytest.fixture(scope='module')
def model():
    return build_segmentor()


def test_text_tower_is_stored_once(model):
    """The head's classifier uses the segmentor's text encoder without registering it again:
    its weights are saved under text_encoder.* only."""
    keys = list(model.state_dict())
    assert any(k.startswith('text_encoder.') for k in keys)
    assert not any('cls_embed.text_encoder' in k for k in keys)
    assert model.decode_head.cls_embed.embed_vocabulary.__self__ is model.text_encoder


def test_loss_trains_head_not_tower(model):
    model.train()
    losses = model.loss(torch.randn(2, 3, 32, 32), samples())
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    assert model.decode_head.loss_cls.class_weight == [1.0] * 4 + [0.1]
    assert model.num_classes == 4 and model.out_channels == 4
    model.zero_grad()
    total.backward()
    assert model.decode_head.cls_embed.proj.weight.grad.abs().sum() > 0
    assert model.backbone.visual.conv1.weight.grad is None  # frozen tower
    assert all(p.grad is None for p in model.text_encoder.parameters())


def test_predict_over_a_new_vocabulary(model):
    model.eval()
    assert model.set_vocabulary(NEW_VOCAB) is model.vocabulary
    assert model.vocabulary.synonyms[1] == ('star', 'pentagram')
    with pytest.raises(ValueError, match='no thing/stuff split'):
        model.set_vocabulary(NEW_VOCAB[:2], stuff=NEW_VOCAB[2:])
    with torch.no_grad():
        results = model.predict(torch.randn(2, 3, 32, 32), samples())
    assert results[0].pred_sem_seg.data.shape == (1, 32, 32)
    assert results[0].pred_sem_seg.data.max() < 5
    assert model.out_channels == 5
    # training switches back to the training vocabulary
    model.train()
    model.loss(torch.randn(1, 3, 32, 32), samples(1))
    assert model.decode_head.num_classes == 4


@pytest.mark.parametrize('ensemble', [True, False])
def test_vocabulary_order_permutes_the_scores(ensemble):
    """Swapping the vocabulary is a pure relabelling: a permuted vocabulary permutes the
    score maps (with and without the CLIP ensemble and fallback, whose seen classes follow the
    names)."""
    model = build_segmentor(ensemble).eval()
    model.test_cfg = ConfigDict(mode='whole', output_logits=True)  # mmseg's (K, H, W) logits
    inputs = torch.randn(1, 3, 32, 32)
    order = [3, 0, 4, 1, 2]
    with torch.no_grad():
        model.set_vocabulary(NEW_VOCAB + ['circle'])
        first = model.predict(inputs, samples(1))[0].seg_logits.data
        model.set_vocabulary([NEW_VOCAB[i] for i in order] + ['circle'])
        second = model.predict(inputs, samples(1))[0].seg_logits.data
    torch.testing.assert_close(second[:5], first[order], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(second[5], first[5], rtol=1e-4, atol=1e-5)


def test_slide_inference_over_a_new_vocabulary(model):
    model.eval()
    model.set_vocabulary(NEW_VOCAB)
    model.test_cfg = ConfigDict(mode='slide', crop_size=(32, 32), stride=(16, 16))
    try:
        meta = dict(img_shape=(48, 64), pad_shape=(48, 64), ori_shape=(48, 64))
        with torch.no_grad():
            result = model.predict(torch.randn(1, 3, 48, 64),
                                   [SegDataSample(metainfo=meta)])[0]
    finally:
        model.test_cfg = ConfigDict(mode='whole')
    assert result.seg_logits.data.shape == (5, 48, 64)
    assert result.pred_sem_seg.data.shape == (1, 48, 64)


def test_each_vocabulary_is_embedded_once(model, monkeypatch):
    model.eval()
    calls = []
    encode = model.text_encoder.encode_text
    monkeypatch.setattr(model.text_encoder, 'encode_text',
                        lambda texts, **kw: calls.append(len(texts)) or encode(texts, **kw))
    model.set_vocabulary(['red thing', 'blue thing', 'green thing'])
    with torch.no_grad():
        for _ in range(3):
            model.predict(torch.randn(1, 3, 32, 32), samples(1))
    assert len(calls) == 1  # the head's classifier and the ensemble share the cached embeddings


def test_errors_name_the_fix():
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, SYNTHETIC_CONFIG)).model
    cfg.train_vocabulary = None
    with pytest.raises(ValueError, match='train_vocabulary'):
        MODELS.build(cfg)
    cfg.train_vocabulary = TRAIN_VOCAB
    cfg.decode_head.num_classes = 4
    with pytest.raises(ValueError, match='remove num_classes'):
        MODELS.build(cfg)
    del cfg.decode_head['num_classes']
    cfg.decode_head.ensemble = cfg.pop('ensemble')
    with pytest.raises(ValueError, match=r"\['ensemble'\] moved to the segmentor"):
        MODELS.build(cfg)


def test_head_emits_raw_logits_and_the_segmentor_post_processes(model):
    """Head -> raw class and mask logits -> the segmentor's ensemble and fallback, as in the
    panoptic detector: the head holds no post-processing part."""
    model.eval()
    model.set_vocabulary(NEW_VOCAB)
    head = model.decode_head
    assert not hasattr(head, 'ensemble') and not hasattr(head, 'fallback')
    assert type(model.ensemble).__name__ == 'VocabEnsemble'
    assert model.ensemble.seen_mask.tolist() == [False] * 5  # follows set_vocabulary
    head.set_vocabulary(NEW_VOCAB)
    meta = dict(img_shape=(32, 32), pad_shape=(32, 32), batch_input_shape=(32, 32))
    with torch.no_grad():
        x = model.extract_feat(torch.randn(1, 3, 32, 32))
        cls_logits, mask_logits = head.query_logits(x, [meta])
        raw = head.predict(x, [meta], model.test_cfg)
        post = model.encode_decode(torch.randn(1, 3, 32, 32), [meta])
    assert cls_logits.shape == (1, 4, 6) and mask_logits.shape[:2] == (1, 4)
    assert raw.shape == post.shape == (1, 5, 32, 32)


@pytest.mark.parametrize('ensemble', [True, False])
def test_label_maps_equal_the_logits_path(ensemble):
    """The default path (candidate classes only, no (K, H, W) logits) gives the label maps of
    mmseg's logits path: at the input's size (with ensemble and fallback) and with padding cropped
    and the logits resized to another original shape."""
    model = build_segmentor(ensemble).eval()
    vocabulary = NEW_VOCAB + TRAIN_VOCAB + [f'thing number {i}' for i in range(30)]
    model.set_vocabulary(vocabulary)
    torch.manual_seed(1)
    inputs = torch.randn(2, 3, 32, 32)
    resized = dict(img_shape=(28, 30), pad_shape=(32, 32), ori_shape=(45, 37),
                   padding_size=[0, 2, 0, 4])
    for meta in ([dict(img_shape=(32, 32), pad_shape=(32, 32), ori_shape=(32, 32))] +
                 ([] if ensemble else [resized])):
        batch = [SegDataSample(metainfo=meta) for _ in range(2)]
        with torch.no_grad():
            labels = model.predict(inputs, batch)
            model.test_cfg = ConfigDict(mode='whole', output_logits=True)
            try:
                logits = model.predict(inputs, [SegDataSample(metainfo=meta) for _ in range(2)])
            finally:
                model.test_cfg = ConfigDict(mode='whole')
        for ours, reference in zip(labels, logits):
            assert 'seg_logits' not in ours and reference.seg_logits.data.shape[0] == 39
            assert torch.equal(ours.pred_sem_seg.data, reference.pred_sem_seg.data)


@pytest.mark.parametrize('from_checkpoint', [True, False])
def test_classifier_temperature_starts_from_the_clip_checkpoint(tmp_path, from_checkpoint):
    import math
    from umg_mm.models.utils import TINY_MODEL, build_open_clip
    clip = build_open_clip(TINY_MODEL)
    with torch.no_grad():
        clip.logit_scale.fill_(math.log(42.))
    torch.save(clip.state_dict(), tmp_path / 'clip.pt')
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, SYNTHETIC_CONFIG)).model
    cfg.update(train_vocabulary=TRAIN_VOCAB, ensemble=None, fallback=None,
               logit_scale_from_checkpoint=from_checkpoint)
    cfg.clip.checkpoint = str(tmp_path / 'clip.pt')
    model = MODELS.build(cfg)
    scale = model.decode_head.cls_embed.logit_scale.exp().item()
    assert scale == pytest.approx(42. if from_checkpoint else 1 / 0.07, rel=1e-5)


def test_random_towers_keep_the_configured_classifier_temperature(model):
    assert model.decode_head.cls_embed.logit_scale.exp().item() == pytest.approx(1 / 0.07)
