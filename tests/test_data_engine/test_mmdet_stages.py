"""Stages on stock mmdet models: the configs the installed mmdet ships (``mmdet::...``), shrunk
(ResNet-18 / one-block Swin, one encoder and decoder layer, 64 px), random weights saved as
checkpoints with their dataset meta, a BERT written locally for GroundingDINO. Nothing is
downloaded."""
import copy

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import save_checkpoint

from tests.test_data_engine.tiny_engine import write_images
from umg_mm.data_engine.offline import write_bert_vocab
from umg_mm.data_engine.models import config_path
from umg_mm.data_engine.sample import EngineSample
from umg_mm.data_engine.sources import list_items
from umg_mm.data_engine.stages import MMDetDetect, MMDetPanopticSegment
from umg_mm.datasets.schema import validate_record

R18_CHANNELS = [64, 128, 256, 512]


def _resize_test_pipeline(cfg: Config, scale=(64, 64)) -> None:
    for step in cfg.test_dataloader.dataset.pipeline:
        if 'Resize' in step['type']:
            step['scale'] = scale


def _r18(cfg: Config) -> None:
    cfg.model.backbone.update(depth=18, init_cfg=None)


def _save(cfg: Config, path) -> str:
    """Build the model (no init_weights: nothing is downloaded), save it with its dataset meta
    as DetInferencer reads it, and dump the config beside it."""
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))  # build() adds keys to its dict
    meta = cfg.test_dataloader.dataset.get('metainfo') or {}
    from mmdet.datasets import CocoDataset, CocoPanopticDataset
    dataset = CocoPanopticDataset if 'panoptic' in cfg.test_dataloader.dataset.type.lower() \
        else CocoDataset
    meta = dict(dataset.METAINFO, **meta)
    save_checkpoint({'state_dict': model.state_dict(), 'meta': dict(dataset_meta=meta)},
                    f'{path}.pth')
    cfg.dump(f'{path}.py')
    return f'{path}.py', f'{path}.pth'


def _samples(folder, count=2):
    write_images(folder, count, size=(48, 64))
    return [EngineSample(item, item.load()) for item in list_items(str(folder))]


def _check(samples):
    for sample in samples:
        assert validate_record(sample.record, 'engine', sample.item.key, (48, 64)) == []


def test_mask_rcnn_regions_and_box_prompted_masks(tmp_path):
    cfg = Config.fromfile(config_path('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'))
    _r18(cfg)
    cfg.model.neck.in_channels = R18_CHANNELS
    _resize_test_pipeline(cfg)
    config, checkpoint = _save(cfg, tmp_path / 'mask-rcnn')
    stage = MMDetDetect(config, checkpoint=checkpoint, score_thr=0., segments=True, batch_size=2,
                        cfg_options={'model.test_cfg.rcnn.score_thr': 0.,
                                     'model.test_cfg.rcnn.max_per_img': 5})
    stage.setup('cpu')
    samples = _samples(tmp_path / 'images')
    stage.process(samples)
    _check(samples)
    classes = set(stage.inferencer.model.dataset_meta['classes'])
    for sample in samples:
        regions, segments = sample.record['regions'], sample.record['segments']
        assert 0 < len(regions) <= 5 and len(segments) <= len(regions)
        for region in regions:
            assert region['extra']['model'] == 'mask-rcnn.py@mask-rcnn.pth'
            assert region['tags'][0] in classes
        assert all(s['isthing'] and s['extra']['stage'] == 'detect' for s in segments)


def test_mask2former_panoptic_segments(tmp_path):
    cfg = Config.fromfile(config_path(
        'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py'))
    _r18(cfg)
    head = cfg.model.panoptic_head
    head.update(in_channels=R18_CHANNELS, num_queries=10)
    head.pixel_decoder.encoder.num_layers = 1
    head.transformer_decoder.num_layers = 1
    cfg.model.test_cfg.update(object_mask_thr=0., iou_thr=0.)  # keep the random model's masks
    _resize_test_pipeline(cfg)
    config, checkpoint = _save(cfg, tmp_path / 'm2f')
    stage = MMDetPanopticSegment(config, checkpoint=checkpoint, min_area=1, batch_size=2)
    stage.setup('cpu')
    samples = _samples(tmp_path / 'images')
    stage.process(samples)
    _check(samples)
    meta = stage.inferencer.model.dataset_meta
    names = set(meta['thing_classes']) | set(meta['stuff_classes'])
    segments = [s for sample in samples for s in sample.record['segments']]
    assert segments
    for segment in segments:
        assert segment['tags'][0] in names
        assert segment['isthing'] == (segment['tags'][0] in meta['thing_classes'])
        assert segment['segmentation']['size'] == [48, 64]
        assert segment['extra']['stage'] == 'segment' and segment['extra']['area'] >= 1


def _tiny_bert(folder) -> str:
    """A one-layer BERT and a WordPiece vocabulary written locally (no hub)."""
    from transformers import BertConfig, BertModel
    words = ['circle', 'square', 'star', 'sky', 'grass', '.', '?', 'a', 'the']
    write_bert_vocab(folder, words)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(words) + 5, hidden_size=32, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=64)).save_pretrained(
                             str(folder))
    return str(folder)


def test_grounding_dino_prompted_by_a_vocabulary(tmp_path):
    cfg = Config.fromfile(config_path(
        'mmdet::grounding_dino/grounding_dino_swin-t_pretrain_obj365_goldg_cap4m.py'))
    cfg.model.language_model.name = _tiny_bert(tmp_path / 'bert')
    cfg.model.backbone.update(depths=[1, 1, 1, 1], init_cfg=None)
    cfg.model.encoder.num_layers = cfg.model.decoder.num_layers = 1
    cfg.model.num_queries = 20
    cfg.model.test_cfg.max_per_img = 10  # of 20 queries x 3 classes
    _resize_test_pipeline(cfg)
    config, checkpoint = _save(cfg, tmp_path / 'gdino')
    vocabulary = ['circle', 'square', 'star']
    stage = MMDetDetect(config, checkpoint=checkpoint, score_thr=0., vocabulary=vocabulary, batch_size=2)
    stage.setup('cpu')
    samples = _samples(tmp_path / 'images')
    stage.process(samples)
    _check(samples)
    regions = [r for sample in samples for r in sample.record['regions']]
    assert regions and {r['tags'][0] for r in regions} <= set(vocabulary)
    scores = np.array([r['extra']['score'] for r in regions])
    assert ((0 <= scores) & (scores <= 1)).all()


def test_an_unknown_label_is_named(tmp_path):
    stage = MMDetDetect('x.py')
    with pytest.raises(ValueError, match='label 3 has no class name'):
        stage._class_name({'classes': ('a', 'b')}, 3)
