"""Every class umg_mm registers is built from a shipped config (the tiny synthetic ones where they
name it, else the config or document that does) and run on a tiny input (timm's habit).

``CASES`` maps each registered class name to its exercise; a class registered without a case
fails ``test_every_registered_class_has_a_case``, naming it. Tiny models, the synthetic world and
the data-engine model files are made once per module.
"""
import importlib
import json
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import Registry, init_default_scope

import umg_mm  # noqa: F401  (registers the models, datasets, metrics, hooks)
import umg_mm.apis  # noqa: F401
import umg_mm.data_engine  # noqa: F401
from tests.test_apis.tiny_models import SEEN, tiny_config
from tests.test_data_engine.tiny_engine import engine_stages, tiny_model_files
from umg_mm.datasets.synthetic import SyntheticWorldConfig, generate_synthetic_world

ROOT = Path(__file__).resolve().parents[1]
REGISTRY_MODULES = ('mmengine.registry', 'mmdet.registry', 'mmseg.registry',
                    'mmpretrain.registry', 'umg_mm.data_engine.registry')
SYNTHETIC = dict(
    pretrain='configs/umg/umg-clip_vit-tiny_1xb32-600it_synthetic-64x64.py',
    semantic='configs/umg/umg-mask2former_vit-tiny_1xb8-300it_synthetic-64x64.py',
    panoptic='configs/umg/umg-mask2former_vit-tiny_2xb8-1200it_synthetic-panoptic-64x64.py',
    dense='configs/umg/umg-dense-zero-shot_vit-tiny_synthetic-64x64.py',
    ade847='configs/umg/umg-mask2former_vit-b16_coco-stuff164k-640x640_ade20k-847.py',
    shards='configs/umg/umg-clip_vit-b16_8xb128-amp-40k_umg41m.py',
    engine='configs/data_engine/umg-engine_vit-tiny_synthetic-64x64.py',
)


def registered() -> dict:
    """``{class name: class}`` of every umg_mm class in the OpenMMLab and umg_mm registries."""
    classes = {}
    for name in REGISTRY_MODULES:
        for registry in vars(importlib.import_module(name)).values():
            if isinstance(registry, Registry):
                for cls in registry.module_dict.values():
                    if getattr(cls, '__module__', '').startswith('umg_mm'):
                        classes[cls.__name__] = cls
    return classes


def find(node, type_name: str) -> dict:
    """The first dict in a config tree whose ``type`` is ``type_name`` (scope prefix ignored)."""
    if isinstance(node, dict):
        if str(node.get('type', '')).split('.')[-1] == type_name:
            return ConfigDict(node)
        node = list(node.values())
    if isinstance(node, (list, tuple)):
        for child in node:
            found = find(child, type_name)
            if found is not None:
                return found
    return None


class World:
    """What the cases share: the synthetic world (``UMG_SYNTHETIC_ROOT`` points at it while the
    module runs), the shipped configs read against it; the tiny models and the data-engine
    model files, each made on first use."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.root = str(folder / 'synthetic')
        self.models = {}
        generate_synthetic_world(self.root, SyntheticWorldConfig(num_train=2, num_val=2,
                                                                 num_dev=2, image_size=64))

    def config(self, key: str) -> Config:
        return Config.fromfile(str(ROOT / SYNTHETIC[key]))

    def model(self, kind: str):
        """The tiny model of ``kind`` (tests/test_apis/tiny_models.py), built once, in eval."""
        if kind not in self.models:
            from mmpretrain.apis import get_model
            from umg_mm.registry import MODELS
            cfg = tiny_config(kind)
            init_default_scope(cfg.get('default_scope') or 'mmengine')
            torch.manual_seed(0)
            self.models[kind] = (get_model(cfg, pretrained=False) if kind == 'zero_shot' else
                                 MODELS.build(cfg.model)).eval()
        return self.models[kind]

    @cached_property
    def engine_files(self) -> dict:
        folder = self.folder / 'engine'
        folder.mkdir()
        return tiny_model_files(folder)

    def dataset(self, key: str, type_name: str, split: str = 'train_dataloader'):
        """The ``split`` dataset of config ``key`` (its type checked), built in its scope."""
        from mmengine.registry import DATASETS
        cfg = self.config(key)
        dataset = cfg[split].dataset
        assert dataset.type.split('.')[-1] == type_name
        with DATASETS.switch_scope_and_registry(cfg.get('default_scope')) as registry:
            return registry.build(dataset)

    @cached_property
    def umg_sample(self) -> dict:
        """The pretraining config's first packed validation sample (UMGDataset's pipeline)."""
        return self.dataset('pretrain', 'UMGDataset', 'val_dataloader')[0]


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp('registered')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('UMG_SYNTHETIC_ROOT', str(folder / 'synthetic'))
        yield World(folder)


# ---------------------------------------------------------------- models
def _image(size=64):
    torch.manual_seed(0)
    return torch.rand(1, 3, size, size)


def case_backbone(world, tmp_path):
    backbone = world.model('semantic').backbone
    assert backbone.out_type == 'dict'
    out = backbone(_image())
    dim = out['global'].shape[1]
    assert out['global'].shape == (1, dim) and out['dense'].shape[:2] == (1, dim)
    assert out['dense'].shape[2:] == (8, 8)  # 64 px / patch 8
    assert len(out['intermediates']) == 4 and torch.isfinite(out['global']).all()


def case_neck(world, tmp_path):
    model = world.model('semantic')
    levels = model.neck(model.backbone(_image())['intermediates'])
    assert len(levels) == 4
    sizes = [level.shape[-1] for level in levels]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    assert all(level.shape[:2] == levels[0].shape[:2] for level in levels)


def case_text_encoder(world, tmp_path):
    embeddings = world.model('semantic').text_encoder(['circle', 'sky', 'a red square'])
    assert embeddings.shape[0] == 3 and embeddings.ndim == 2
    torch.testing.assert_close(embeddings.norm(dim=-1), torch.ones(3))


def _seg_batch(model, training):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                         pad_shape=(64, 64)))
    label = torch.zeros(1, 64, 64, dtype=torch.long)
    label[:, :32] = 1
    sample.gt_sem_seg = PixelData(data=label)
    data = dict(inputs=[(_image()[0] * 255).to(torch.uint8)], data_samples=[sample])
    return model.data_preprocessor(data, training=training)


def case_segmentor(world, tmp_path):
    model = world.model('semantic')
    batch = _seg_batch(model, False)
    with torch.no_grad():
        pred = model(**batch, mode='predict')[0].pred_sem_seg.data
        # mode='tensor' with and without data samples (mmseg's _forward passes the head none)
        for samples in (batch['data_samples'], None):
            cls_logits, mask_logits = model(batch['inputs'], samples, mode='tensor')
            assert cls_logits[-1].shape[-1] == len(SEEN) + 1  # the classes and void
            assert mask_logits[-1].shape[:2] == cls_logits[-1].shape[:2]
    assert model.num_classes == len(SEEN)
    assert pred.shape == (1, 64, 64) and 0 <= pred.min() and pred.max() < len(SEEN)


def case_seg_head(world, tmp_path):
    model = world.model('semantic')
    model.train()
    try:
        losses = model(**_seg_batch(model, True), mode='loss')
    finally:
        model.eval()
    assert any(k.startswith('decode.') for k in losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and total.requires_grad


def case_classifier(world, tmp_path):
    classifier = world.model('semantic').decode_head.cls_embed
    queries = torch.randn(1, 5, classifier.in_channels)
    logits = classifier(queries)
    assert logits.shape == (1, 5, len(SEEN) + 1) and torch.isfinite(logits).all()


def _outputs_during(modules, run) -> list:
    """``run()`` while recording the outputs of each of ``modules``' calls: one list each."""
    outputs = [[] for _ in modules]
    handles = [m.register_forward_hook(lambda _m, _i, out, k=k: outputs[k].append(out))
               for k, m in enumerate(modules)]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def _finite(output) -> bool:
    return all(torch.isfinite(t.float()).all() for t in
               (output if isinstance(output, (tuple, list)) else [output]) if torch.is_tensor(t))


def case_semantic_post(world, tmp_path):
    """VocabEnsemble and UncoveredPixelFallback: called once each by the semantic model's
    prediction, with finite scores."""
    from umg_mm.models.open_vocab import UncoveredPixelFallback, VocabEnsemble
    model = world.model('semantic')
    assert isinstance(model.ensemble, VocabEnsemble)
    assert isinstance(model.fallback, UncoveredPixelFallback)
    ensemble, fallback = _outputs_during([model.ensemble, model.fallback],
                                         lambda: case_segmentor(world, tmp_path))
    assert len(ensemble) == len(fallback) == 1
    assert _finite(ensemble[0]) and _finite(fallback[0])


def _panoptic_predict(world):
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    from tests.umg_fixtures import demo_panoptic_batch
    model = world.model('panoptic')
    with torch.no_grad():
        batch = demo_panoptic_batch(model, len(SEEN), training=False)
        cls_logits, mask_logits = model(**batch, mode='tensor')  # per decoder layer
        preds = model(**batch, mode='predict')
    queries = cls_logits[-1].shape[1]
    assert cls_logits[-1].shape == (2, queries, len(SEEN) + 1)  # + void
    assert mask_logits[-1].shape[:2] == (2, queries)
    for sample, size in zip(preds, [(64, 64), (64, 48)]):
        seg = sample.pred_panoptic_seg.sem_seg
        assert seg.shape[-2:] == size
        labels = seg % INSTANCE_OFFSET
        assert ((labels < len(SEEN)) | (labels == len(SEEN))).all()  # K: void
    return model


def case_detector(world, tmp_path):
    _panoptic_predict(world)


def case_panoptic_post(world, tmp_path):
    """UncoveredRegionFallback (and the ensemble) on the panoptic model's prediction path."""
    from umg_mm.models.open_vocab import UncoveredRegionFallback
    model = world.model('panoptic')
    assert isinstance(model.fallback, UncoveredRegionFallback)
    ensemble, fallback = _outputs_during([model.ensemble, model.fallback],
                                         lambda: _panoptic_predict(world))
    assert len(ensemble) >= 1 and len(fallback) >= 1
    assert all(_finite(out) for out in ensemble + fallback)


def case_panoptic_head(world, tmp_path):
    from tests.umg_fixtures import demo_panoptic_batch
    model = world.model('panoptic')
    model.train()
    try:
        losses = model(**demo_panoptic_batch(model, len(SEEN), training=True), mode='loss')
    finally:
        model.eval()
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and total.requires_grad


def _umg_batch(world, training):
    from mmengine.dataset import pseudo_collate
    return world.model('pretrainer').data_preprocessor(pseudo_collate([world.umg_sample]), training)


def case_pretrainer(world, tmp_path):
    model = world.model('pretrainer')
    batch = _umg_batch(world, False)
    with torch.no_grad():
        tensor = model(**batch, mode='tensor')
        pred = model(**batch, mode='predict')[0]
    dim = tensor['global'].shape[1]
    assert tensor['global'].shape == (1, dim) and tensor['dense'].shape == (1, dim, 8, 8)
    scores = pred.pred_img_scores
    assert scores.shape == (len(SEEN), ) and torch.isfinite(scores).all()
    model.train()
    try:
        losses = model(**_umg_batch(world, True), mode='loss')
    finally:
        model.eval()
    assert {'loss_image_text', 'loss_region_text', 'loss_pixel_text'} <= set(losses), losses
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total) and total.requires_grad


def case_data_preprocessor(world, tmp_path):
    preprocessor = world.model('pretrainer').data_preprocessor
    batch = _umg_batch(world, True)
    assert batch['inputs'].shape == (1, 3, 64, 64) and batch['inputs'].dtype == torch.float32
    raw = world.umg_sample['inputs'].float()[[2, 1, 0]]  # BGR to RGB
    torch.testing.assert_close(batch['inputs'][0, :, :raw.shape[1], :raw.shape[2]],
                               (raw - preprocessor.mean) / preprocessor.std)
    assert len(batch['data_samples']) == 1


def case_loss(world, tmp_path):
    loss_fn = world.model('pretrainer').losses.image_text
    visual = torch.randn(3, 16, requires_grad=True)
    loss = loss_fn(visual, torch.randn(2, 16), torch.tensor([5, 7]),
                   torch.tensor([[0, 0], [1, 1], [2, 1]]))
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert visual.grad is not None and visual.grad.abs().sum() > 0


def case_region_crop_distill(world, tmp_path):
    """The world's pretrainer with the self-distillation term: a finite loss on its graph."""
    from umg_mm.registry import MODELS
    model = world.model('pretrainer')
    model.region_crop_distill = MODELS.build(dict(type='RegionCropDistillLoss', num_crops=2))
    model.train()
    try:
        losses = model(**_umg_batch(world, True), mode='loss')
    finally:
        model.eval()
        model.region_crop_distill = None
    value = losses['loss_region_crop_distill']
    assert torch.isfinite(value) and value.requires_grad and 0 <= float(value) <= 2


def case_zero_shot(world, tmp_path):
    model = world.model('zero_shot')
    with torch.no_grad():
        logits = model(_image(), mode='tensor')
        pred = model(_image(), mode='predict')[0]
    assert logits.shape == (1, len(SEEN))
    assert int(pred.pred_label) == int(logits.argmax())
    assert pred.pred_score.shape == (len(SEEN), )
    torch.testing.assert_close(pred.pred_score.sum(), torch.tensor(1.))


def case_dense_zero_shot(world, tmp_path):
    """OpenVocabEncoderDecoder + DenseZeroShotHead from the training-free config."""
    from mmseg.registry import MODELS
    cfg = world.config('dense')
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model).eval()
    classes = [c for c in _vocab(world, 'all') if c]
    batch = _seg_batch(model, False)
    with torch.no_grad():
        logits = model(**batch, mode='tensor')
        pred = model(**batch, mode='predict')[0].pred_sem_seg.data
    assert model.num_classes == len(classes) and logits.shape[:2] == (1, len(classes))
    assert pred.shape == (1, 64, 64) and pred.max() < len(classes)


# ---------------------------------------------------------------- datasets and transforms
def _packed(sample):
    assert sample['inputs'].shape[0] == 3 and 'data_samples' in sample
    return sample['data_samples']


def case_umg_dataset(world, tmp_path):
    """UMGDataset with LoadUMGImage, LoadUMGAnnotations and PackUMGInputs (its pipeline)."""
    dataset = world.dataset('pretrain', 'UMGDataset', 'train_dataloader')
    steps = [type(t).__name__ for t in dataset.pipeline.transforms]
    assert {'LoadUMGImage', 'LoadUMGAnnotations', 'PackUMGInputs'} <= set(steps)
    assert len(dataset) == 2
    data_sample = _packed(dataset[0])
    assert data_sample.img_text and len(data_sample.gt_instances) > 0


def case_webdataset(world, tmp_path):
    """UMGWebDataset and its pipeline (SwapLeftRightOnFlip) from the shards config."""
    from tests.umg_fixtures import make_samples, write_shards
    shards = write_shards(str(tmp_path / 'shards'), make_samples(4), 2)
    cfg = world.config('shards').train_dataloader.dataset
    assert cfg.type == 'UMGWebDataset'
    cfg.update(shards=shards, num_samples=4)
    for step in cfg.pipeline:
        if step['type'].endswith('RandomFlip'):
            step['prob'] = 1.0
    from mmengine.registry import DATASETS
    samples = list(DATASETS.build(cfg))
    assert len(samples) == 4
    for sample in samples:  # every image flipped: its caption says right for left
        text = _packed(sample).img_text
        assert text.endswith(('a white square on the right of a triangle',
                              'a triangle left of a square')), text


def case_panoptic_dataset(world, tmp_path):
    dataset = world.dataset('panoptic', 'VocabularyCocoPanopticDataset')
    assert len(dataset) == 2
    assert _packed(dataset[0]).gt_sem_seg.sem_seg.shape[-2:] == (64, 64)


def case_panoptic_subset_dataset(world, tmp_path):
    """CocoPanopticSubsetDataset as its docstring configures it: the world's seen classes."""
    from mmdet.registry import DATASETS
    cfg = world.config('panoptic').train_dataloader.dataset
    meta = world.dataset('panoptic', 'VocabularyCocoPanopticDataset').metainfo
    init_default_scope('mmdet')
    dataset = DATASETS.build(dict(
        type='CocoPanopticSubsetDataset', data_root=cfg.data_root, ann_file=cfg.ann_file,
        data_prefix=cfg.data_prefix, pipeline=cfg.pipeline,
        metainfo=dict(classes=meta['classes'], thing_classes=meta['thing_classes'],
                      stuff_classes=meta['stuff_classes'])))
    assert len(dataset) == 2
    assert _packed(dataset[0]).gt_sem_seg.sem_seg.shape[-2:] == (64, 64)


def case_seg_dataset(world, tmp_path):
    dataset = world.dataset('semantic', 'VocabularySegDataset')
    assert len(dataset) == 2
    label = _packed(dataset[0]).gt_sem_seg.data
    assert label.shape[-2:] == (64, 64)
    assert ((label < len(dataset.metainfo['classes'])) | (label == 255)).all()


def case_wide_labels(world, tmp_path):
    """LoadWideSegAnnotations from the ADE-847 config: a 16-bit label map stays wide."""
    from mmseg.registry import TRANSFORMS
    step = find(world.config('ade847').test_dataloader.dataset.pipeline, 'LoadWideSegAnnotations')
    label = np.full((4, 6), 300, np.uint16)
    label[0, 0] = 846
    cv2.imwrite(str(tmp_path / 'label.png'), label)
    init_default_scope('mmseg')
    out = TRANSFORMS.build(step)(dict(seg_map_path=str(tmp_path / 'label.png'),
                                      reduce_zero_label=False, seg_fields=[]))
    assert out['gt_seg_map'].shape == (4, 6) and out['gt_seg_map'].max() == 846
    assert (out['gt_seg_map'] == 300).sum() == 23


def case_check_seg_labels(world, tmp_path):
    """CheckSegLabels with its documented arguments: passes indices and the ignore value,
    names the bad ones."""
    from mmseg.registry import TRANSFORMS
    check = TRANSFORMS.build(dict(type='mmseg.CheckSegLabels', num_classes=3,
                                  classes_source='seen.txt'))
    good = np.array([[0, 2], [255, 1]])
    assert check(dict(gt_seg_map=good, seg_map_path='a.png'))['gt_seg_map'] is good
    with pytest.raises(ValueError, match='seen.txt'):
        check(dict(gt_seg_map=np.array([[0, 7]]), seg_map_path='a.png'))


# ---------------------------------------------------------------- metrics
def _metric(key: str, type_name: str, split='val_evaluator'):
    from mmengine.registry import METRICS
    cfg = Config.fromfile(str(ROOT / SYNTHETIC[key]))
    with METRICS.switch_scope_and_registry(cfg.get('default_scope')) as registry:
        return registry.build(find(cfg[split], type_name))


def _compute(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def _vocab(world, name):
    return Path(world.root, 'vocabularies', f'{name}.txt').read_text().split('\n')


def case_zero_shot_cls_metric(world, tmp_path):
    metric = _metric('pretrain', 'ZeroShotClassificationMetric')
    vocabulary = [v for v in _vocab(world, 'all') if v]
    samples = []
    for line in Path(world.root, 'image_labels', 'val.txt').read_text().split('\n'):
        if line:
            name, index = line.split()
            thing = [v for v in _vocab(world, 'things') if v][int(index)]
            scores = torch.zeros(len(vocabulary))
            scores[vocabulary.index(thing)] = 1.
            samples.append(dict(img_path=name, pred_img_scores=scores))
    assert samples and _compute(metric, samples)['top1'] == pytest.approx(100.)


def case_zero_shot_multi_label_metric(world, tmp_path):
    metric = _metric('pretrain', 'ZeroShotMultiLabelMetric')
    vocabulary = [v for v in _vocab(world, 'all') if v]
    labels = json.loads(Path(world.root, 'image_labels', 'val_multilabel.json').read_text())
    samples = []
    for record in labels['data_list']:
        scores = torch.zeros(len(vocabulary))
        for index in record['gt_label']:  # every present thing above every absent one
            scores[vocabulary.index(labels['metainfo']['classes'][index])] = 1.
        samples.append(dict(img_path=record['img_path'], pred_img_scores=scores))
    result = _compute(metric, samples)
    assert samples and result['mAP'] == pytest.approx(100.)
    assert result['any_top1'] == pytest.approx(100.)


def case_retrieval_metric(world, tmp_path):
    metric = _metric('pretrain', 'ImageTextRetrievalMetric')
    eye = torch.eye(3)
    result = _compute(metric, [dict(img_embedding=eye[i], text_embedding=eye[i],
                                    img_text=f'caption {i}', img_tags=['circle'])
                               for i in range(3)])
    assert result['i2t_R@1'] == pytest.approx(100.) and result['t2i_R@1'] == 100.


def case_region_metric(world, tmp_path):
    metric = _metric('pretrain', 'RegionRecognitionMetric')
    vocabulary = [v for v in _vocab(world, 'all') if v]
    things = [v for v in _vocab(world, 'things') if v][:2]
    scores = torch.zeros(2, len(vocabulary))
    for row, thing in enumerate(things):
        scores[row, vocabulary.index(thing)] = 1.
    result = _compute(metric, [dict(pred_region_scores=scores,
                                    gt_instances=dict(tags=[[t] for t in things]))])
    assert result['top1'] == pytest.approx(100.) and result['mean_acc'] == pytest.approx(100.)


def case_dense_metric(world, tmp_path):
    metric = _metric('pretrain', 'DenseZeroShotIoUMetric')
    vocabulary = [v for v in _vocab(world, 'all') if v]
    pred = torch.zeros(1, 4, 4, dtype=torch.long)
    pred[0, :2] = 1
    masks = torch.stack([pred[0] == 0, pred[0] == 1])
    result = _compute(metric, [dict(pred_sem_seg=dict(data=pred), gt_segments=dict(
        masks=masks, tags=[[vocabulary[0]], [vocabulary[1]]]))])
    assert result['mIoU'] == pytest.approx(100.)


def case_iou_metric(world, tmp_path):
    metric = _metric('semantic', 'OpenVocabIoUMetric')
    metric.dataset_meta = dict(classes=SEEN)
    label = torch.tensor([[[0, 1], [2, 2]]])
    result = _compute(metric, [dict(pred_sem_seg=dict(data=label), gt_sem_seg=dict(data=label))])
    assert result['mIoU'] == pytest.approx(100.)


def case_panoptic_semantic_metric(world, tmp_path):
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    metric = _metric('panoptic', 'PanopticSemanticIoUMetric')
    metric.dataset_meta = dict(classes=SEEN, thing_classes=SEEN[:3], stuff_classes=SEEN[3:])
    label = torch.tensor([[[0, 1], [3, 5]]])
    panoptic = torch.tensor([[[0 + INSTANCE_OFFSET, 1 + 2 * INSTANCE_OFFSET], [3, 5]]])
    result = _compute(metric, [dict(pred_panoptic_seg=dict(sem_seg=panoptic),
                                    gt_sem_seg=dict(sem_seg=label))])
    assert result['mIoU'] == pytest.approx(100.)


def case_panoptic_metric(world, tmp_path):
    """OpenVocabPanopticMetric from the panoptic config on the world's validation ground truth
    as the prediction (things: label + k * INSTANCE_OFFSET, stuff: label): PQ 100 everywhere."""
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    dataset = world.dataset('panoptic', 'VocabularyCocoPanopticDataset', 'val_dataloader')
    metric = _metric('panoptic', 'OpenVocabPanopticMetric')
    metric.dataset_meta = dataset.metainfo
    num_things, num_classes = (len(dataset.metainfo[k]) for k in ('thing_classes', 'classes'))
    samples = []
    for index in range(len(dataset)):
        gt, info = dataset[index]['data_samples'], dataset.get_data_info(index)
        semantic = gt.gt_sem_seg.sem_seg[0].long()
        panoptic = torch.full_like(semantic, num_classes)  # void
        stuff = (semantic >= num_things) & (semantic < num_classes)
        panoptic[stuff] = semantic[stuff]
        for k, (label, mask) in enumerate(zip(gt.gt_instances.labels.tolist(),
                                              gt.gt_instances.masks.to_ndarray())):
            panoptic[torch.from_numpy(mask).bool()] = label + (k + 1) * INSTANCE_OFFSET
        samples.append(dict(img_id=info['img_id'], img_path=info['img_path'],
                            seg_map_path=info['seg_map_path'], ori_shape=gt.ori_shape,
                            pred_panoptic_seg=dict(sem_seg=panoptic[None])))
    result = _compute(metric, samples)
    assert result['PQ'] == pytest.approx(100.) and result['PQ_st'] == pytest.approx(100.)
    assert result['PQ_seen'] == pytest.approx(100.)


def case_dump_results(world, tmp_path):
    """AtomicDumpResults as tools/test.py adds it (--out): the predictions land in the file."""
    from mmengine.fileio import load
    from umg_mm.evaluation.metrics import AtomicDumpResults
    metric = AtomicDumpResults(out_file_path=str(tmp_path / 'out.pkl'))
    metric.process({}, [dict(pred_score=torch.tensor([0.25, 0.75]))])
    metric.compute_metrics(metric.results)
    assert load(str(tmp_path / 'out.pkl'))[0]['pred_score'].tolist() == [0.25, 0.75]


# ---------------------------------------------------------------- hooks and visualisers
def case_vocabulary_hook(world, tmp_path):
    from mmengine.registry import HOOKS
    from tests.test_engine.test_vocabulary_hook import RecordingModel, runner_with
    hook = HOOKS.build(find(world.config('panoptic').custom_hooks, 'VocabularyHook'))
    model = RecordingModel()
    hook.before_val_epoch(runner_with(model, dict(
        classes=['circle', 'sky'], thing_classes=['circle'], stuff_classes=['sky']), 'val_loop'))
    assert [(v.things.synonyms, v.stuff.synonyms) for v in model.calls] == [
        ((('circle',),), (('sky',),))]


def case_replaced_hook(name):
    """A tombstone: building it raises a KeyError naming VocabularyHook (its own test)."""
    def case(world, tmp_path):
        from tests.test_engine.test_vocabulary_hook import \
            test_configs_naming_the_replaced_hooks_are_told_the_new_one as raises_naming_successor
        raises_naming_successor(name)
    return case


def case_progress_hook(world, tmp_path):
    from tests.test_engine.test_progress_logger_hook import run
    hook = world.config('semantic').default_hooks.logger
    assert hook.type == 'ProgressLoggerHook'
    log = run(tmp_path, dict(hook), 'test')
    assert 'Iter(test) [16/16]' in log and 'eta: ' in log


def case_checkpoint_hook(world, tmp_path):
    from mmengine.registry import HOOKS
    from tests.test_engine.test_atomic_checkpoint_hook import _train
    hook = world.config('semantic').default_hooks.checkpoint
    assert hook.type == 'AtomicCheckpointHook'
    built = HOOKS.build(dict(hook))
    assert type(built).__name__ == 'AtomicCheckpointHook' and built.interval == hook.interval
    _train(str(tmp_path))  # its own test's tiny runner, saving through AtomicCheckpointHook
    assert (tmp_path / 'last_checkpoint').read_text().strip().endswith('.pth')


def _visualise(registry, cfg, sample, tmp_path):
    visualizer = registry.build(dict(cfg, name=f'registered_{tmp_path.name}'))
    visualizer.dataset_meta = dict(classes=SEEN, thing_classes=SEEN[:3], stuff_classes=SEEN[3:],
                                   palette=[(40 * i, 200 - 30 * i, 90) for i in range(6)])
    image = np.full((32, 48, 3), 100, np.uint8)
    visualizer.add_datasample('x', image, sample, out_file=str(tmp_path / 'x.png'))
    drawn = visualizer.get_image()  # ground truth beside prediction, 48 px enlarged to >= 512
    assert drawn.ndim == 3 and drawn.shape[2] == 3 and drawn.shape[1] >= 2 * 512
    assert len(np.unique(drawn.reshape(-1, 3), axis=0)) > 2  # regions drawn, not blank
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / 'x.png'))[..., ::-1], drawn)


def case_seg_visualizer(world, tmp_path):
    from mmengine.structures import PixelData
    from mmseg.registry import VISUALIZERS
    from mmseg.structures import SegDataSample
    sample = SegDataSample()
    label = torch.zeros(1, 32, 48, dtype=torch.long)
    label[:, 8:20, 8:30] = 2
    sample.gt_sem_seg = PixelData(data=label)
    sample.pred_sem_seg = PixelData(data=label)
    init_default_scope('mmseg')
    _visualise(VISUALIZERS, world.config('semantic').visualizer, sample, tmp_path)


def case_det_visualizer(world, tmp_path):
    from mmdet.registry import VISUALIZERS
    from mmdet.structures import DetDataSample
    from mmengine.structures import PixelData
    sample = DetDataSample()
    seg = torch.full((1, 32, 48), 4, dtype=torch.long)
    seg[:, 8:20, 8:30] = 1
    sample.gt_panoptic_seg = PixelData(sem_seg=seg)
    sample.pred_panoptic_seg = PixelData(sem_seg=seg)
    init_default_scope('mmdet')
    _visualise(VISUALIZERS, world.config('panoptic').visualizer, sample, tmp_path)


# ---------------------------------------------------------------- data-engine stages
def case_umg_stages(upto: str):
    """Build the tiny engine chain up to ``upto`` (tests/test_data_engine's model files) and
    run it on one image; the record stays valid and ``upto`` wrote its part."""
    def case(world, tmp_path):
        from tests.test_apis.tiny_models import write_images
        from umg_mm.data_engine.registry import STAGES
        from umg_mm.data_engine.sample import EngineSample
        from umg_mm.data_engine.sources import list_items
        from umg_mm.datasets.schema import validate_record
        configs = engine_stages(world.engine_files)
        types = [c['type'] for c in configs]
        assert upto in {find(s, upto)['type'] for s in world.config('engine').stages
                        if find(s, upto)}
        write_images(tmp_path / 'images', 1)
        samples = [EngineSample(i, i.load()) for i in list_items(str(tmp_path / 'images'))]
        for cfg in configs[:types.index(upto) + 1]:
            stage = STAGES.build(cfg)
            stage.setup('cpu')
            stage.process(samples)
        record = samples[0].record
        assert validate_record(record, 'engine', samples[0].item.key, (48, 64)) == []
        written = dict(UMGPanopticDetect='regions', UMGPanopticSegment='segments',
                       UMGZeroShotTag='tags', LayoutCaption='captions')
        if upto in written:
            assert record.get(written[upto]), (upto, record)
        else:  # the filter scored every image caption it kept
            origins = record['extra']['provenance']['captions']
            assert origins and all('filter_score' in o for o in origins)
    return case


def case_stock_stage(test_module: str, test_name: str):
    """The mmdet / mmpretrain stages on the shrunk stock configs their own tests make."""
    def case(world, tmp_path):
        getattr(importlib.import_module(test_module), test_name)(tmp_path)
    return case


def case_fsdp_wrapper(world, tmp_path):
    """The EVA02-E/14 FSDP config's wrapper shards and trains a tiny pretrainer (its own test,
    in a one-process gloo group)."""
    from tests.test_engine.test_fsdp import (gloo_process_group,
                                             test_config_wrapper_shards_and_trains_a_tiny_pretrainer)
    with gloo_process_group():
        test_config_wrapper_shards_and_trains_a_tiny_pretrainer(None)


CASES = dict(
    CLIPFullyShardedDataParallel=case_fsdp_wrapper,
    UMGCLIPBackbone=case_backbone,
    CLIPPyramidNeck=case_neck,
    UMGCLIPTextEncoder=case_text_encoder,
    OpenVocabEncoderDecoder=case_segmentor,
    OpenVocabMask2FormerSegHead=case_seg_head,
    OpenVocabClassifier=case_classifier,
    VocabEnsemble=case_semantic_post,
    UncoveredPixelFallback=case_semantic_post,
    OpenVocabMask2Former=case_detector,
    OpenVocabMask2FormerHead=case_panoptic_head,
    UncoveredRegionFallback=case_panoptic_post,
    UMGCLIPPretrainer=case_pretrainer,
    UMGDataPreprocessor=case_data_preprocessor,
    MultiPositiveContrastiveLoss=case_loss,
    RegionCropDistillLoss=case_region_crop_distill,
    UMGCLIPZeroShot=case_zero_shot,
    DenseZeroShotHead=case_dense_zero_shot,
    UMGDataset=case_umg_dataset,
    LoadUMGImage=case_umg_dataset,
    LoadUMGAnnotations=case_umg_dataset,
    PackUMGInputs=case_umg_dataset,
    UMGWebDataset=case_webdataset,
    SwapLeftRightOnFlip=case_webdataset,
    VocabularyCocoPanopticDataset=case_panoptic_dataset,
    CocoPanopticSubsetDataset=case_panoptic_subset_dataset,
    VocabularySegDataset=case_seg_dataset,
    LoadWideSegAnnotations=case_wide_labels,
    CheckSegLabels=case_check_seg_labels,
    ZeroShotClassificationMetric=case_zero_shot_cls_metric,
    ZeroShotMultiLabelMetric=case_zero_shot_multi_label_metric,
    ImageTextRetrievalMetric=case_retrieval_metric,
    RegionRecognitionMetric=case_region_metric,
    DenseZeroShotIoUMetric=case_dense_metric,
    OpenVocabIoUMetric=case_iou_metric,
    PanopticSemanticIoUMetric=case_panoptic_semantic_metric,
    OpenVocabPanopticMetric=case_panoptic_metric,
    AtomicDumpResults=case_dump_results,
    VocabularyHook=case_vocabulary_hook,
    DatasetVocabularyHook=case_replaced_hook('DatasetVocabularyHook'),
    SemSegVocabularyHook=case_replaced_hook('SemSegVocabularyHook'),
    ProgressLoggerHook=case_progress_hook,
    AtomicCheckpointHook=case_checkpoint_hook,
    UMGSegLocalVisualizer=case_seg_visualizer,
    UMGDetLocalVisualizer=case_det_visualizer,
    UMGPanopticDetect=case_umg_stages('UMGPanopticDetect'),
    UMGPanopticSegment=case_umg_stages('UMGPanopticSegment'),
    UMGZeroShotTag=case_umg_stages('UMGZeroShotTag'),
    LayoutCaption=case_umg_stages('LayoutCaption'),
    UMGScoreFilter=case_umg_stages('UMGScoreFilter'),
    MMDetDetect=case_stock_stage('tests.test_data_engine.test_mmdet_stages',
                                 'test_mask_rcnn_regions_and_box_prompted_masks'),
    MMDetPanopticSegment=case_stock_stage('tests.test_data_engine.test_mmdet_stages',
                                          'test_mask2former_panoptic_segments'),
    MMPretrainCaption=case_stock_stage('tests.test_data_engine.test_mmpretrain_caption',
                                       'test_blip_captions_images_and_regions_with_provenance'),
)


def test_every_registered_class_has_a_case():
    classes = set(registered())
    assert not classes - set(CASES), f'registered without a case: {sorted(classes - set(CASES))}'
    stale = sorted(set(CASES) - classes)
    assert not stale, f'cases of unregistered classes: {stale}'


@pytest.mark.parametrize('name', sorted(CASES))
def test_registered_class(name, world, tmp_path):
    CASES[name](world, tmp_path)
