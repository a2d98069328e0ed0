"""projects/umg_mask2former_panoptic: mmdet's stock Mask2Former COCO-panoptic config with the
UMG-CLIP backbone and umg_mm's text classifier builds from the installed mmdet, trains a step and
predicts on the CPU (tiny CLIP towers; the head at the stock sizes), and its vocabulary is replaced
at test time by a config override."""
import pytest
import torch
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope

import umg_mm  # noqa: F401
from tests.umg_fixtures import demo_panoptic_batch as batch
from .project_configs import TINY_LORA, project_config, tiny_backbone

PROJECT = 'umg_mask2former_panoptic'
CONFIG = 'umg-mask2former_vit-b16-lora_8xb2-lsj-50e_coco-panoptic.py'


def tiny_cfg(cfg_options=None):
    """The project config with tiny CLIP towers, 64 px batches (the stock LSJ pads every batch to
    1024 px) and, like ``--cfg-options``, ``cfg_options`` merged in."""
    cfg = project_config(PROJECT, CONFIG)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    tiny_backbone(cfg, lora=TINY_LORA)
    cfg.model.text_encoder.templates = 'single'
    cfg.model.data_preprocessor.batch_augments[0].size = (64, 64)
    return cfg


@pytest.fixture(scope='module')
def model():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg().model)


def test_stock_config_with_umg_backbone_and_text_classifier(model):
    cfg = tiny_cfg()
    # the stock recipe is kept: its head sizes, matcher, LSJ data, schedule and evaluators
    head = cfg.model.panoptic_head
    assert (head.num_queries, head.pixel_decoder.encoder.num_layers,
            head.transformer_decoder.num_layers) == (100, 6, 9)
    assert cfg.train_cfg.max_iters == 368750
    assert [e.type for e in cfg.val_evaluator] == ['CocoPanopticMetric', 'CocoMetric']
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone == dict(lr_mult=0.1,
                                                                         decay_mult=1.0)
    assert cfg.custom_hooks == [dict(type='VocabularyHook', vocabulary='coco_panoptic_133')]
    # what umg_mm replaces
    assert type(model).__name__ == 'OpenVocabMask2Former'
    assert type(model.backbone).__name__ == 'UMGCLIPBackbone'
    assert type(model.panoptic_head.cls_embed).__name__ == 'OpenVocabClassifier'
    assert (model.num_things_classes, model.num_stuff_classes) == (80, 53)
    assert model.panoptic_head.loss_cls.class_weight == [1.0] * 133 + [0.1]
    # the R-50 channels at strides p/4 .. 2p (the tiny CLIP's patch p = 8; 4 .. 32 for ViT-B/16)
    feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert [tuple(f.shape[1:]) for f in feats] == [(256, 32, 32), (512, 16, 16), (1024, 8, 8),
                                                  (2048, 4, 4)]


def test_one_loss_step_reaches_lora_pyramid_and_classifier_only(model):
    model.train()
    data = batch(model, 133, training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_cls', 'loss_mask', 'loss_dice', 'd8.loss_cls'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and total > 0
    model.zero_grad()
    total.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert grads['panoptic_head.cls_embed.proj.weight'].abs().sum() > 0
    assert grads['panoptic_head.cls_embed.void_embedding'].abs().sum() > 0
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if 'lora_' in n)
    assert all(grads[n] is not None for n in grads if n.startswith('neck.proj.'))
    frozen = [n for n, p in model.named_parameters()
              if n.startswith('backbone.visual') and 'lora_' not in n]
    assert frozen and all(grads[n] is None for n in frozen)
    assert all(grads[n] is None for n in grads if 'text_encoder' in n)


def test_predict_gives_coco_panoptic_labels(model):
    model.eval()
    data = batch(model, 133, training=False)
    with torch.no_grad():
        results = model.predict(data['inputs'], data['data_samples'])
    pan = results[0].pred_panoptic_seg.sem_seg
    assert pan.shape == (1, 64, 64)
    assert int((pan % INSTANCE_OFFSET).max()) <= 133  # 133: void


def test_vocabulary_from_cfg_options_is_what_the_model_classifies():
    """``--cfg-options model.vocabulary.thing_classes=[...] model.vocabulary.stuff_classes=[...]``
    gives a model over those classes; the class scores follow the order of the names."""
    init_default_scope('mmdet')
    things, stuff = ['cat', 'circle', 'person'], ['sky', 'grass']
    options = {'model.vocabulary.thing_classes': things, 'model.vocabulary.stuff_classes': stuff}
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(options).model).eval()
    # untrained: a zero void embedding (void logit 0) lets the queries' best classes show
    model.panoptic_head.cls_embed.void_embedding.data.zero_()
    assert model.vocabulary.class_names == things + stuff
    assert model.panoptic_fusion_head.num_classes == 5
    model.panoptic_fusion_head.test_cfg.update(object_mask_thr=0., iou_thr=0.,
                                               filter_low_score=False)
    data = batch(model, 5, training=False)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
        scores = model.panoptic_head(feats, data['data_samples'])[0][-1]
        results = model.predict(data['inputs'], data['data_samples'])
        assert scores.shape == (2, 100, 6)  # 5 classes + void
        model.set_vocabulary(things[::-1], stuff[::-1])  # the same names, in reverse order
        reversed_scores = model.panoptic_head(feats, data['data_samples'])[0][-1]
    torch.testing.assert_close(reversed_scores[..., :3], scores[..., :3].flip(-1))
    torch.testing.assert_close(reversed_scores[..., 3:5], scores[..., 3:5].flip(-1))
    torch.testing.assert_close(reversed_scores[..., 5], scores[..., 5])  # void
    labels = torch.cat([(r.pred_panoptic_seg.sem_seg % INSTANCE_OFFSET).flatten()
                        for r in results])
    assert labels.max() <= 5 and (labels < 5).any()
