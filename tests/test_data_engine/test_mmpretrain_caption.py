"""The caption stage on a stock mmpretrain captioner: the BLIP caption config the installed
mmpretrain ships (``mmpretrain::blip/blip-base_8xb32_caption.py``), shrunk (a one-layer 32-wide
ViT and BERT decoder, 64 px), random weights saved as a checkpoint, a BERT vocabulary written
locally for its ``BlipTokenizer``. Nothing is downloaded."""
import copy

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import save_checkpoint

from tests.test_data_engine.tiny_engine import write_images
from umg_mm.data_engine.offline import write_bert_vocab
from umg_mm.data_engine.models import config_path
from umg_mm.data_engine.sample import EngineSample
from umg_mm.data_engine.sources import list_items
from umg_mm.data_engine.stages import MMPretrainCaption
from umg_mm.datasets.schema import validate_record

WORDS = ['a', 'picture', 'of', 'circle', 'square', 'star', 'sky', 'grass', 'on', 'the']


def _tiny_blip(folder) -> tuple:
    """The shipped BLIP caption config shrunk, its random weights saved; (config, checkpoint)."""
    cfg = Config.fromfile(config_path('mmpretrain::blip/blip-base_8xb32_caption.py'))
    cfg.model.tokenizer.name_or_path = write_bert_vocab(folder / 'bert', WORDS)
    cfg.model.vision_encoder.update(
        arch=dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
        img_size=64)
    cfg.model.decoder_head.decoder.med_config.update(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        encoder_width=32, max_position_embeddings=64,
        vocab_size=len(WORDS) + 7)  # + 5 BERT specials + BlipTokenizer's [DEC] and [ENC]
    cfg.model.max_txt_len = 8
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (64, 64)
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    save_checkpoint({'state_dict': model.state_dict()}, str(folder / 'blip.pth'))
    cfg.dump(str(folder / 'blip.py'))
    return str(folder / 'blip.py'), str(folder / 'blip.pth')


def _samples(folder, count=2):
    write_images(folder, count, size=(48, 64))
    samples = [EngineSample(item, item.load()) for item in list_items(str(folder))]
    for sample in samples:  # a region big enough to caption and one too small
        sample.record['regions'] = [dict(bbox=[4., 4., 40., 44.], tags=['circle']),
                                    dict(bbox=[50., 30., 58., 38.], tags=['star'])]
    return samples


def test_blip_captions_images_and_regions_with_provenance(tmp_path):
    config, checkpoint = _tiny_blip(tmp_path)
    stage = MMPretrainCaption(config, checkpoint=checkpoint, regions=True, min_region_size=16,
                              batch_size=2)
    init_default_scope('mmengine')  # as a umg_mm stage before it leaves it
    stage.setup('cpu')
    samples = _samples(tmp_path / 'images')
    stage.process(samples)
    vocabulary = set(WORDS)
    origin = dict(stage='caption', model='blip.py@blip.pth', score=None)
    for sample in samples:
        record = sample.record
        assert validate_record(record, 'engine', sample.item.key, (48, 64)) == []
        big, small = record['regions']
        for owner in (record, big):
            assert len(owner['captions']) == 1
            caption = owner['captions'][0]
            # the decoder's words, the prompt ('a picture of ') cut off
            assert caption and set(caption.split()) <= vocabulary, caption
            assert owner['extra']['provenance']['captions'] == [origin]
        assert 'captions' not in small  # 8 px < min_region_size
