"""configs/umg/umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic.py builds (tiny backbone
override), trains a step, predicts, and
predicts over another vocabulary without retraining."""
import copy
from pathlib import Path

import pytest
import torch
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import umg_mm  # noqa: F401  (registers the model)
from tests.umg_fixtures import demo_panoptic_batch as batch
from umg_mm.models.utils import NANO_MODEL as TINY
from umg_mm.structures import join_things_stuff

CONFIG = (Path(__file__).resolve().parents[3] /
          'configs/umg/umg-mask2former_vit-b16_8xb2-lsj-50e_coco-panoptic.py')
ADE_CONFIG = CONFIG.parent / 'umg-mask2former_vit-b16_coco-panoptic_ade20k-panoptic.py'


def tiny_coco_cfg():
    """The COCO-panoptic config with a tiny CLIP and a smaller head (same types, same wiring)."""
    cfg = Config.fromfile(str(CONFIG))
    model = cfg.model
    model.data_preprocessor.batch_augments = None
    model.clip = dict(model_name=TINY)
    model.backbone = dict(type='UMGCLIPBackbone', out_type='dict', out_indices=(0, 0, 1, 1),
                          lora=dict(r=2, alpha=4, target_modules=('c_fc', 'c_proj')))
    model.neck.embed_dim = 64
    model.text_encoder.templates = 'single'
    model.panoptic_head.num_queries = 10
    model.panoptic_head.pixel_decoder.encoder.num_layers = 1
    model.panoptic_head.transformer_decoder.num_layers = 3
    model.train_cfg.num_points = 256
    return cfg


@pytest.fixture(scope='module')
def model():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(tiny_coco_cfg().model)


def test_config_builds_with_coco_vocabulary_and_mmdet_parts(model):
    from mmcv.ops import MultiScaleDeformableAttention
    from mmdet.models.seg_heads.panoptic_fusion_heads import MaskFormerFusionHead
    assert type(model).__name__ == 'OpenVocabMask2Former'
    assert (model.num_things_classes, model.num_stuff_classes) == (80, 53)
    assert model.vocabulary.class_names[0] == 'person' and model.vocabulary.class_names[80] == \
        'banner'
    assert isinstance(model.panoptic_fusion_head, MaskFormerFusionHead)
    assert model.panoptic_fusion_head.num_classes == 133
    assert any(isinstance(m, MultiScaleDeformableAttention) for m in model.modules())
    assert model.panoptic_head.loss_cls.class_weight == [1.0] * 133 + [0.1]
    assert model.ensemble.seen_mask.all()  # COCO classes were seen


def test_one_loss_step_trains_head_lora_and_neck_only(model):
    model.train()
    data = batch(model, 133, training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_cls', 'loss_mask', 'loss_dice', 'd0.loss_cls'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    model.zero_grad()
    total.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert grads['panoptic_head.cls_embed.proj.weight'].abs().sum() > 0
    assert grads['panoptic_head.cls_embed.void_embedding'].abs().sum() > 0
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if 'lora_' in n)
    assert any(g is not None for n, g in grads.items() if n.startswith('neck.'))
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
    assert int((pan % INSTANCE_OFFSET).max()) <= 133


def test_vocabulary_swap_predicts_over_the_new_classes(model):
    model.eval()
    fusion_cfg = model.panoptic_fusion_head.test_cfg
    fusion_cfg.update(object_mask_thr=0., iou_thr=0., filter_low_score=False)
    try:
        model.set_vocabulary(['cat', 'circle'], ['sky'])
        assert model.panoptic_fusion_head.num_classes == 3
        assert model.ensemble.seen_mask.tolist() == [True, False, True]  # circle is not COCO
        data = batch(model, 3, training=False)
        with torch.no_grad():
            feats = model.extract_feat(data['inputs'])
            cls_scores, _ = model.panoptic_head(feats, data['data_samples'])
            results = model.predict(data['inputs'], data['data_samples'])
        assert cls_scores[-1].shape == (2, 10, 4)  # 3 classes + void
        labels = torch.cat([(r.pred_panoptic_seg.sem_seg % INSTANCE_OFFSET).flatten()
                            for r in results])
        assert labels.max() <= 3 and (labels < 3).any()  # new classes (3 = void)
    finally:
        model.set_vocabulary('coco_panoptic_things_80', 'coco_panoptic_stuff_53')
        fusion_cfg.update(object_mask_thr=0.8, iou_thr=0.8, filter_low_score=True)
    assert model.panoptic_fusion_head.num_classes == 133


def test_vocabulary_protocol_keeps_the_thing_stuff_split(model):
    coco = model.vocabulary
    assert coco.num_things == 80 and len(coco.stuff) == 53
    assert coco.things.class_names[0] == 'person' and coco.stuff.class_names[-1] == 'rug'
    try:
        split = model.set_vocabulary(join_things_stuff(['cat', 'circle'], ['sky']))
        assert model.vocabulary == split and model.num_things_classes == 2
        assert model.panoptic_fusion_head.num_stuff_classes == 1
        with pytest.raises(ValueError, match='which classes are stuff'):
            model.set_vocabulary(['cat', 'sky'])
    finally:
        assert model.set_vocabulary(coco) == coco
    assert model.panoptic_fusion_head.num_classes == 133


def test_fallback_fills_void_pixels_with_unseen_classes_only(model):
    """With the fallback, covered pixels keep their segment; void pixels may only become classes
    outside seen_classes (here the COCO things count as seen, so only stuff fills them)."""
    model.eval()
    data = batch(model, 133, training=False)
    samples = copy.deepcopy(data['data_samples'])
    with torch.no_grad():
        plain = model.predict(data['inputs'], data['data_samples'])
        model.fallback = MODELS.build(dict(type='UncoveredRegionFallback', min_area=1,
                                           seen_classes='coco_panoptic_things_80'))
        try:
            model.set_vocabulary('coco_panoptic_things_80', 'coco_panoptic_stuff_53')
            filled = model.predict(data['inputs'], samples)
        finally:
            model.fallback = None
    before = torch.cat([r.pred_panoptic_seg.sem_seg.flatten() for r in plain])
    after = torch.cat([r.pred_panoptic_seg.sem_seg.flatten() for r in filled])
    void = before == 133
    assert void.any() and torch.equal(after[~void], before[~void])
    new = after[void & (after != 133)]
    assert new.numel() > 0 and ((new % INSTANCE_OFFSET) >= 80).all()


def test_ade20k_fallback_fills_only_classes_outside_coco():
    """The ADE20K-panoptic config's model (tiny towers): over ADE20K's 150 classes, void pixels may
    become only classes COCO does not name (bed, cabinet, ... not person, sky)."""
    from mmdet.datasets import ADE20KPanopticDataset
    from umg_mm.structures import SeenClasses
    init_default_scope('mmdet')
    cfg = tiny_coco_cfg()
    cfg.model.fallback = Config.fromfile(str(ADE_CONFIG)).model.fallback
    cfg.model.fallback.min_area = 1
    cfg.model.test_cfg.update(object_mask_thr=0.99)  # an untrained model: leave most pixels void
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    meta = ADE20KPanopticDataset.METAINFO
    model.set_vocabulary(list(meta['thing_classes']), list(meta['stuff_classes']))
    coco = SeenClasses('coco_panoptic_133').mask(model.vocabulary)
    assert coco.sum() > 0 and (~coco).sum() > 0
    data = batch(model, 150, training=False)
    with torch.no_grad():
        results = model.predict(data['inputs'], data['data_samples'])
    labels = torch.cat([(r.pred_panoptic_seg.sem_seg % INSTANCE_OFFSET).flatten() for r in results])
    filled = labels[labels != 150]
    assert filled.numel() > 0 and not coco[filled.numpy()].any()


def test_config_errors_name_the_fix():
    init_default_scope('mmdet')
    cfg = tiny_coco_cfg()
    head = cfg.model.panoptic_head.copy()
    head.update(num_things_classes=80)
    with pytest.raises(ValueError, match='vocabulary'):
        MODELS.build(head)
    cfg.model.backbone.out_type = 'intermediates'
    with pytest.raises(ValueError, match="out_type='dict'"):
        MODELS.build(cfg.model)
    with pytest.raises(ValueError, match="the fallback reads the backbone's dense"):
        MODELS.build(dict(cfg.model, ensemble=None,
                          fallback=dict(type='UncoveredRegionFallback')))
    cfg.model.backbone.out_type = 'dict'
    cfg.model.vocabulary = 'coco_panoptic_133'
    with pytest.raises(ValueError, match='thing_classes=..., stuff_classes=...'):
        MODELS.build(cfg.model)


def test_ade20k_config_changes_only_the_test_data_and_vocabulary_source():
    coco = Config.fromfile(str(CONFIG))
    ade = Config.fromfile(str(ADE_CONFIG))
    fallback = ade.model.pop('fallback')
    assert ade.model == coco.model
    assert fallback == dict(type='UncoveredRegionFallback', min_area=64,
                            seen_classes='coco_panoptic_133')
    dataset = ade.test_dataloader.dataset
    assert dataset.type == 'ADE20KPanopticDataset'
    assert dataset.metainfo.thing_classes.endswith('ade20k_panoptic_things.txt')
    assert [e.type for e in ade.test_evaluator] == ['CocoPanopticMetric',
                                                    'PanopticSemanticIoUMetric']
    assert ade.custom_hooks == [dict(type='VocabularyHook')]  # ADE's own names
    assert coco.custom_hooks == [dict(type='VocabularyHook', vocabulary='coco_panoptic_133')]


@pytest.mark.parametrize('from_checkpoint', [True, False])
def test_classifier_temperature_starts_from_the_clip_checkpoint(tmp_path, from_checkpoint,
                                                                 model):
    import math
    from umg_mm.models.utils import build_open_clip
    clip = build_open_clip(TINY)
    with torch.no_grad():
        clip.logit_scale.fill_(math.log(42.))
    torch.save(clip.state_dict(), tmp_path / 'clip.pt')
    init_default_scope('mmdet')
    cfg = tiny_coco_cfg().model
    cfg.clip.checkpoint = str(tmp_path / 'clip.pt')
    cfg.logit_scale_from_checkpoint = from_checkpoint
    loaded = MODELS.build(cfg)
    scale = loaded.panoptic_head.cls_embed.logit_scale.exp().item()
    assert scale == pytest.approx(42. if from_checkpoint else 1 / 0.07, rel=1e-5)
    # the module's model has random towers: the configured start
    assert model.panoptic_head.cls_embed.logit_scale.exp().item() == pytest.approx(1 / 0.07)
