"""Smoke test of tools/benchmark.py: every section on the tiny model, one repeat, tiny sizes."""
import json
import math

import pytest

from umg_mm.benchmark import SECTIONS
from umg_mm.benchmark.result import Ratio, SectionResult

TINY = ['--device', 'cpu', '--model', 'tiny', '--sizes', '32', '64', '--batch-size', '2',
        '--repeats', '1', '--warmup', '1']
EXPECTED_RATIOS = {
    'backbone': {'dense_tokens_32px', 'dense_value_32px', 'dense_tokens_64px',
                 'dense_value_64px', 'dense_resized_pos_embed_64px'},
    'pretrain_step': {'three_losses_vs_image_text'},
    'lora': {'trainable_parameters', 'step_time', 'peak_memory'},
    'contrastive_loss': {'time', 'peak_memory'},
    'realistic_step': {'step_time', 'losses_share', 'step_peak_memory', 'losses_peak_memory'},
    'seg_vocab': {'vocabulary_847_vs_150', 'vocabulary_847_vs_150_memory',
                  'vocabulary_847_vs_150_logits'},
    'pipeline': {'umg_vs_mmdet_panoptic'},
}


def test_every_section_reports_finite_positive_ratios(tmp_path, capsys, load_tool):
    out = tmp_path / 'bench.json'
    assert load_tool('benchmark.py').main(TINY + ['--out', str(out)]) == 0
    report = json.loads(out.read_text())
    sections = report['sections']
    assert list(sections) == list(SECTIONS)
    assert report['failed'] == []
    for name, keys in EXPECTED_RATIOS.items():
        assert sections[name]['status'] == 'ok', sections[name]
        assert set(sections[name]['ratios']) == keys
        for key, ratio in sections[name]['ratios'].items():
            assert math.isfinite(ratio['value']) and ratio['value'] > 0, (name, key, ratio)
            assert ratio['value'] == pytest.approx(ratio['measured'] / ratio['reference'])
    # AMP is measured on CUDA only: reported as skipped on the CPU, not failed
    assert sections['amp']['status'] == 'skipped'
    assert 'CUDA' in sections['amp']['reason']
    # LoRA trains a small share of the parameters and needs less memory than full tuning
    lora = sections['lora']['ratios']
    assert lora['trainable_parameters']['value'] < 0.1
    assert lora['peak_memory']['value'] < 1
    assert lora['peak_memory']['reference'] > 0
    # the step of the three losses ran on regions and masks of the synthetic batch
    measured = sections['pretrain_step']['measurements']
    assert measured['regions'] > 0 and measured['masks'] > 0
    assert sections['seg_vocab']['measurements']['image_size'] == 64
    # the losses at the realistic counts: 64 regions and 128 masks on rank 0 (2 images)
    rows = sections['realistic_step']['measurements']['rows_per_loss']
    assert rows['region_text'] == 64 and rows['pixel_text'] == 128
    assert sections['realistic_step']['ratios']['losses_share']['value'] < 1
    assert report['machine']['device'] == 'cpu'
    table = capsys.readouterr().out
    assert '| lora | trainable parameters, LoRA vs full tuning |' in table
    assert '| amp | skipped: AMP runs on CUDA only' in table


def test_a_failing_section_is_reported_and_the_others_run(tmp_path, monkeypatch, load_tool):
    def broken(ctx):
        raise RuntimeError('boom')

    def zero_reference(ctx):
        return SectionResult(ratios={'x': Ratio('x vs nothing', 1.0, 0.0, 's')})

    monkeypatch.setitem(SECTIONS, 'backbone', broken)
    monkeypatch.setitem(SECTIONS, 'pretrain_step', zero_reference)
    out = tmp_path / 'bench.json'
    assert load_tool('benchmark.py').main(
        TINY + ['--only', 'backbone', 'pretrain_step', 'pipeline', '--out', str(out)]) == 1
    report = json.loads(out.read_text())
    assert report['failed'] == ['backbone', 'pretrain_step']
    assert report['sections']['backbone']['error'] == 'RuntimeError: boom'
    assert report['sections']['pretrain_step']['ratios']['x']['value'] is None
    assert 'non-finite' in report['sections']['pretrain_step']['error']
    assert report['sections']['pipeline']['status'] == 'ok'


def test_amp_is_refused_on_the_cpu(capsys, load_tool):
    with pytest.raises(SystemExit):
        load_tool('benchmark.py').main(['--device', 'cpu', '--amp'])
    assert '--amp needs CUDA' in capsys.readouterr().err


def test_bad_arguments_are_refused(capsys, load_tool):
    with pytest.raises(SystemExit):
        load_tool('benchmark.py').main(['--device', 'cpu', '--repeats', '0'])
    assert '--repeats 0: it must be at least 1' in capsys.readouterr().err
