"""The engine throughput tool on the tiny engine (tests/test_data_engine/tiny_engine.py): a row
per stage, FLOPs equal to FlopCounterMode's count of the stage's model call, the GPU arithmetic,
and a clear error for a stage it cannot measure. Nothing is downloaded."""
import copy
import runpy
import sys

import pytest
from mmengine.config import Config
from torch.utils.flop_counter import FlopCounterMode

from tests.test_data_engine.tiny_engine import engine_stages, tiny_model_files
from umg_mm.data_engine import STAGES
from umg_mm.data_engine.offline import offline_options
from umg_mm.data_engine.stages.base import ModelStage
from umg_mm.data_engine.throughput import (StageThroughput, keep_best_regions, measure_engine,
                                           offline_stage_cfg, pipeline_images_per_second,
                                           random_samples, throughput_table)


@pytest.fixture(scope='module')
def stages(tmp_path_factory):
    return engine_stages(tiny_model_files(tmp_path_factory.mktemp('models')))


def test_a_row_per_stage_with_the_stage_model_flops(stages):
    rows = measure_engine(stages, images=2, image_size=(48, 64), repeats=1)
    assert [(r.name, r.stage) for r in rows] == [
        ('detect', 'UMGPanopticDetect'), ('segment', 'UMGPanopticSegment'),
        ('tag', 'UMGZeroShotTag'), ('caption', 'LayoutCaption'), ('filter', 'UMGScoreFilter')]
    by_name = {r.name: r for r in rows}
    for name in ('detect', 'tag', 'filter'):
        assert by_name[name].flops_per_image > 0 and by_name[name].input_size.startswith('3x')
        assert by_name[name].model.endswith('@random')
    # the segment stage reads the detect stage's forward (one forward serves both)
    assert by_name['segment'].flops_per_image == 0 and by_name['segment'].regions_in > 0
    assert by_name['caption'].flops_per_image == 0 and by_name['caption'].input_size == ''
    assert all(r.cpu_seconds_per_image > 0 for r in rows)

    # FlopCounterMode's own count of the tag model's call on the same two images
    tag = STAGES.build(dict(offline_stage_cfg(stages[2], ''), batch_size=2))
    tag.setup('cpu')
    samples = random_samples(2, (48, 64))
    counter = FlopCounterMode(display=False)
    with counter:
        tag.inferencer([s.image for s in samples], task='classification',
                       vocabulary=tag.vocabulary, topk=1, batch_size=2)
    assert by_name['tag'].flops_per_image == counter.get_total_flops() / 2


def test_gpu_arithmetic_by_hand():
    model = StageThroughput('detect', 'MMDetDetect', 'm', '3x800x1333', 2e11, 4.0, 0.)
    layout = StageThroughput('caption', 'LayoutCaption', 'layout', '', 0., 0.002, 3.)
    assert model.gpu_images_per_second(989., 0.3) == pytest.approx(989e12 * 0.3 / 2e11)
    assert layout.gpu_images_per_second(989., 0.3) == pytest.approx(500.)  # its CPU rate
    rate = 1. / (2e11 / (989e12 * 0.3) + 1 / 500.)
    assert pipeline_images_per_second([989e12 * 0.3 / 2e11, 500.]) == pytest.approx(rate)
    table = throughput_table([model, layout], 'H100', 989., 0.3, 41_000_000, 1)
    assert '| 200.0 | 4.00 | 1,483.5 |' in table  # GFLOPs, CPU s, 989e12 * 0.3 / 2e11
    assert f'{rate:.2f} images/s per H100' in table
    assert f'{41_000_000 / rate / 3600:,.0f} GPU-hours for 41,000,000 images' in table
    assert 'ESTIMATES from FLOPs, not measured' in table


def test_keep_best_regions():
    samples = random_samples(1, (8, 8))
    samples[0].record['regions'] = [dict(bbox=[0, 0, 1, 1], extra=dict(score=s))
                                    for s in (0.2, None, 0.9, 0.5)]
    keep_best_regions(samples, 2)
    assert [r['extra']['score'] for r in samples[0].record['regions']] == [0.9, 0.5]


class _OtherModelStage(ModelStage):
    role = 'detect'
    build_inferencer = staticmethod(lambda *args: None)


def test_a_stage_it_cannot_measure_is_named():
    STAGES.register_module(name='_ThroughputTestStage', module=_OtherModelStage, force=True)
    with pytest.raises(ValueError, match="'_ThroughputTestStage': cannot measure it"):
        offline_stage_cfg(dict(type='_ThroughputTestStage', config='x.py'), '')
    with pytest.raises(ValueError, match="'NoSuchStage': not a registered"):
        offline_stage_cfg(dict(type='NoSuchStage'), '')


def test_offline_options_of_the_recipe_models(tmp_path):
    recipe = Config.fromfile(
        'configs/data_engine/umg-engine_grounding-dino-mask2former-blip_umg41m.py')
    configs = {cfg['type']: cfg['config'] for cfg in recipe.stages}
    blip = offline_options(configs['MMPretrainCaption'], tmp_path)
    from transformers import BertTokenizer
    tokenizer = BertTokenizer.from_pretrained(blip['model.tokenizer.name_or_path'])
    assert len(tokenizer) == 30522  # BERT-base's: BLIP's embedding table keeps its shape
    assert offline_options(configs['UMGZeroShotTag'], tmp_path) == {
        'model.clip.checkpoint': None}
    assert offline_options(configs['MMDetPanopticSegment'], tmp_path) == {}


def test_the_tool_prints_and_writes_the_table(stages, tmp_path, monkeypatch, capsys):
    config = tmp_path / 'engine.py'
    Config(dict(stages=copy.deepcopy(stages[2:4]))).dump(str(config))
    out = tmp_path / 'table.md'
    monkeypatch.setattr(sys, 'argv', [
        'engine_throughput.py', str(config), '--images', '2', '--repeats', '1',
        '--image-size', '48', '64', '--gpu', 'A100', '--utilisation', '0.5', '--out', str(out)])
    runpy.run_path('tools/analysis_tools/engine_throughput.py', run_name='__main__')
    printed = capsys.readouterr().out
    assert out.read_text().strip() == printed.strip()
    assert 'tag (UMGZeroShotTag)' in printed and 'caption (LayoutCaption)' in printed
    assert 'A100 peak dense bf16 312 TFLOPs x utilisation 0.5' in printed
