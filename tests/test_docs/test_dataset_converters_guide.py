"""docs/dataset_converters.md, run command by command on the public releases in miniature.

The test writes every release the benchmark table names under ``data/`` (``tests/
release_fixtures``: the releases' own directory names, file names, split files, bit depths and
annotation fields, with unlabeled pixels), a tiny open_clip file where the pretraining config looks
for its weights, and runs the page's blocks marked ``<!-- release-step -->`` in order, in a folder
laid out like the repository root (``tools/`` and ``configs/`` linked in; ``python tools/...`` runs
in a fork of one warm interpreter, :mod:`tool_server`). One substitution: each ``configs/umg/X.py``
is run as ``tiny_configs/X.py``, the real config loaded by mmengine and dumped with only sizes
changed (:func:`shrink`): the towers (a 3-block CLIP), the heads, the images (every resize and crop
of the pipelines at 64 px, short sides up to 256), the schedule (2 iterations, batch 2, no
dataloader workers) and AMP off (the CPU). Data roots, datasets, vocabularies, metrics and hooks are
the config's own. Change the page or a config and this test runs the new commands.
"""
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS, METRICS

from tests.release_fixtures import (write_coco2017, write_coco_stuff164k, write_full_release,
                                    write_scene_parsing, write_visual_genome,
                                    write_voc2010_context, write_voc2012)
from tests.release_fixtures.ade20k import FULL_VOCABULARY
from tests.test_docs.tool_server import ToolServer

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / 'docs' / 'dataset_converters.md'
STEP = re.compile(r'<!-- release-step -->\n```bash\n(.*?)\n```', re.S)
CONFIG = re.compile(r'configs/umg/([\w.-]+\.py)')
TINY_CLIP = 'umg-vit-tiny-8'  # umg_mm/models/clip_configs/umg-vit-tiny-8.json
TEMPLATES = ['{}', 'a {}']
FEAT = 32
ATTN = dict(embed_dims=FEAT, num_heads=2)
FFN = dict(embed_dims=FEAT, feedforward_channels=64)
MASK2FORMER = dict(
    in_channels=[FEAT] * 4, feat_channels=FEAT, out_channels=FEAT, num_queries=10,
    pixel_decoder=dict(
        norm_cfg=dict(type='GN', num_groups=8),
        encoder=dict(num_layers=1, layer_cfg=dict(self_attn_cfg=dict(ATTN, num_points=2),
                                                  ffn_cfg=FFN)),
        positional_encoding=dict(num_feats=FEAT // 2)),
    positional_encoding=dict(num_feats=FEAT // 2),
    transformer_decoder=dict(num_layers=2, layer_cfg=dict(self_attn_cfg=ATTN,
                                                          cross_attn_cfg=ATTN, ffn_cfg=FFN)))
TINY_MODELS = {  # model type: what shrink() merges into cfg.model
    'UMGCLIPPretrainer': dict(
        data_preprocessor=dict(pad_size_divisor=8),
        clip=dict(model_name=TINY_CLIP),
        backbone=dict(grad_checkpointing=False),
        text_encoder=dict(templates=TEMPLATES),
        test_cfg=dict(templates=TEMPLATES)),
    'OpenVocabEncoderDecoder': dict(
        data_preprocessor=dict(size=(64, 64), test_cfg=dict(size_divisor=8)),
        clip=dict(model_name=TINY_CLIP),
        text_encoder=dict(templates=TEMPLATES),
        backbone=dict(out_indices=(0, 1, 2, 2)),
        neck=dict(embed_dim=96, out_channels=FEAT),
        decode_head=dict(MASK2FORMER, strides=[2, 4, 8, 16], train_cfg=dict(num_points=256))),
    'OpenVocabMask2Former': dict(
        data_preprocessor=dict(pad_size_divisor=16, batch_augments=[dict(
            type='BatchFixedSizePad', size=(64, 64), img_pad_value=0, pad_mask=True,
            mask_pad_value=0, pad_seg=True, seg_pad_value=255)]),
        clip=dict(model_name=TINY_CLIP),
        backbone=dict(out_indices=(1, 1, 2, 2)),
        neck=dict(embed_dim=96, out_channels=FEAT),
        text_encoder=dict(templates=TEMPLATES),
        panoptic_head=MASK2FORMER,
        train_cfg=dict(num_points=256)),
}
SIZE_KEYS = ('scale', 'scales', 'crop_size', 'max_size')
ADE_CONFIGS = ('umg-mask2former_vit-b16_coco-stuff164k-640x640_ade20k-150.py',
               'umg-mask2former_vit-b16_coco-panoptic_ade20k-panoptic.py')


def _small(value):
    """A pipeline size at miniature scale: up to 1024 px -> 64, larger -> 256."""
    if isinstance(value, (list, tuple)):
        return type(value)(_small(v) for v in value)
    return value if not isinstance(value, int) else (64 if value <= 1024 else 256)


def _shrink_pipelines(node):
    if isinstance(node, dict):
        return {k: _small(v) if k in SIZE_KEYS else _shrink_pipelines(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_shrink_pipelines(v) for v in node)
    return node


def shrink(config: Path, out: Path) -> None:
    """Dump ``config`` to ``out`` with tiny towers and heads, 64 px pipelines, two iterations,
    batch 2, no workers, AMP off; nothing else changes."""
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(dict(model=TINY_MODELS[cfg.model.type]))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key):
            cfg[key] = _shrink_pipelines(cfg[key].to_dict())
            cfg[key].update(num_workers=0, persistent_workers=False)
    if cfg.get('train_dataloader'):
        cfg.train_dataloader.batch_size = 2
        cfg.train_cfg.update(max_iters=2, val_interval=2)
        cfg.train_cfg.pop('dynamic_intervals', None)
        cfg.optim_wrapper.type = 'OptimWrapper'  # AMP off (AmpOptimWrapper needs a GPU)
        for key in ('loss_scale', 'dtype'):  # AmpOptimWrapper's own arguments
            cfg.optim_wrapper.pop(key, None)
        logger = cfg.default_hooks.get('logger') or dict(type='LoggerHook')  # the config's own
        cfg.merge_from_dict({'default_hooks.logger': dict(logger, interval=1),
                             'default_hooks.checkpoint.interval': 2})
    cfg.dump(str(out))


def doc_steps():
    """``(section heading, bash body)`` of every marked block, in the page's order."""
    text = DOC.read_text()
    steps = []
    for match in STEP.finditer(text):
        heading = text.rfind('\n## ', 0, match.start())
        steps.append((text[heading + 4:text.index('\n', heading + 1)], match.group(1)))
    return steps


def write_releases(data: Path) -> dict:
    """Every release of the benchmark table, where the configs look for it."""
    facts = dict(coco=write_coco2017(data), coco_stuff=write_coco_stuff164k(data),
                 voc=write_voc2012(data), context=write_voc2010_context(data),
                 ade847=write_full_release(data), vg=write_visual_genome(data))
    ade_roots = {Config.fromfile(str(ROOT / 'configs' / 'umg' / name)).test_dataloader.dataset
                 .data_root.rstrip('/') for name in ADE_CONFIGS}
    for ade_root in sorted(ade_roots):  # one root, unless the configs disagree
        facts['ade'] = write_scene_parsing(data.parent / ade_root)
    return facts


def write_tiny_tower(path: Path) -> None:
    """A tiny open_clip model's state dict, as open_clip saves its checkpoints."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(open_clip.create_model(TINY_CLIP).state_dict(), path)


@pytest.fixture(scope='module')
def chain(tmp_path_factory):
    """Run the page's marked blocks in order; ``{heading: log}``, the project folder, facts."""
    project = tmp_path_factory.mktemp('releases')
    (project / 'tools').symlink_to(ROOT / 'tools')
    (project / 'configs').symlink_to(ROOT / 'configs')
    facts = write_releases(project / 'data')
    pretrain = Config.fromfile(str(ROOT / 'configs/umg/umg-clip_vit-b16_8xb128-amp-40k_coco-vg.py'))
    write_tiny_tower(project / pretrain.model.clip.checkpoint)
    (project / 'tiny_configs').mkdir()
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
    server = ToolServer(tmp_path_factory.mktemp('tool_server'), env)
    env = dict(server.env, PATH=f'{server.bin_dir}{os.pathsep}{env["PATH"]}')
    logs = {}
    steps = doc_steps()
    assert len(steps) >= 10, f'{DOC}: {len(steps)} release-step blocks'
    try:
        for heading, body in steps:
            for name in sorted(set(CONFIG.findall(body))):
                tiny = project / 'tiny_configs' / name
                if not tiny.exists():
                    shrink(ROOT / 'configs' / 'umg' / name, tiny)
            body = CONFIG.sub(r'tiny_configs/\1', body)
            result = subprocess.run(['bash', '-euo', 'pipefail', '-c', body], cwd=project,
                                    env=env, capture_output=True, text=True, timeout=900)
            logs[heading] = logs.get(heading, '') + result.stdout + result.stderr
            if result.returncode:
                logs[heading] += f'\nFAILED:\n{body}'
                break
    finally:
        server.close()
    return logs, project, facts


def _log(chain, heading):
    logs = chain[0]
    assert heading in logs, f'the chain stopped before "{heading}"; ran: {list(logs)}\n' + \
        '\n'.join(f'--- {h}\n{log[-4000:]}' for h, log in logs.items() if 'FAILED' in log)
    assert 'FAILED' not in logs[heading], logs[heading][-6000:]
    return logs[heading]


def test_every_documented_chain_is_marked():
    """Each row of the benchmark table: its config is run by a marked block and the test it
    names is in this module."""
    text = DOC.read_text()
    table = text[text.index('| benchmark | release layout'):]
    rows = table[:table.index('\n\n')].splitlines()[2:]
    run = {name for _, body in doc_steps() for name in CONFIG.findall(body)}
    assert len(rows) == 9, rows
    for row in rows:
        benchmark, _, _, config, test = [cell.strip() for cell in row.split('|')[1:-1]]
        names = re.findall(r'`([\w.-]+\.py)`', config)
        assert names and set(names) <= run, f'{benchmark}: {names} not run by a marked block'
        assert (ROOT / 'configs' / 'umg' / names[0]).is_file(), names[0]
        function = test.strip('`').split('[')[0]
        assert callable(globals().get(function)), f'{benchmark}: no test {test}'


def test_pretraining_on_coco_and_vg(chain):
    coco = _log(chain, 'COCO captions + panoptic -> UMG')
    assert 'checked 3 record(s): 0 problem(s)' in coco
    _log(chain, 'Visual Genome regions -> UMG')
    log = _log(chain, 'Pretraining on COCO + Visual Genome')
    project = chain[1]
    records = (project / 'data/vg/umg_regions.jsonl').read_text().splitlines()
    assert len(records) == 3  # the image without regions is kept (its image-level data)
    assert 'ViT-B-16-laion2b_s34b_b88k.bin' in log  # the towers' weights, named in the log
    for key in ('loss_image_text', 'loss_region_text', 'loss_pixel_text', 'retrieval/',
                'region/top1', 'dense/mIoU'):
        assert key in log, key


def test_coco_stuff_training(chain):
    log = _log(chain, 'COCO-Stuff 164k: training the open-vocabulary semantic segmentor')
    work_dir = chain[1] / 'work_dirs/umg-mask2former_vit-b16_8xb2-amp-60k_coco-stuff164k-640x640'
    assert (work_dir / 'iter_2.pth').is_file()
    assert 'Iter(train) [2/2]' in log and 'mIoU' in log
    # the pretrained towers were loaded (load_from), not random ones
    assert 'umg-clip_vit-b16_8xb128-amp-40k_coco-vg/iter_2.pth' in log


SEMANTIC = {  # doc heading: classes predicted over
    'ADE20K-150': 150, 'ADE20K-847': len(FULL_VOCABULARY), 'PASCAL-Context-59': 59,
    'PASCAL-Context-459': 459, 'Pascal VOC-20': 20}
IDS = ['ade20k-150', 'ade20k-847', 'pascal-context-59', 'pascal-context-459', 'pascal-voc-20']


@pytest.mark.parametrize('heading', SEMANTIC, ids=IDS)
def test_semantic_benchmark(chain, heading):
    log = _log(chain, heading)
    assert f'vocabulary: {SEMANTIC[heading]} classes (' in log
    assert re.search(r'mIoU over \d+ seen classes', log)
    assert 'mIoU_held_out' in log


def test_coco_panoptic(chain):
    log = _log(chain, 'COCO panoptic: training the open-vocabulary panoptic model')
    assert 'Iter(train) [2/2]' in log
    assert 'coco_panoptic/PQ' in log and 'panoptic_semseg/mIoU' in log


def test_ade20k_panoptic(chain):
    log = _log(chain, 'ADE20K panoptic (150 classes)')
    assert 'coco_panoptic/PQ' in log


BENCHMARK_CONFIGS = {
    'ADE20K-150': 'umg-mask2former_vit-b16_coco-stuff164k-640x640_ade20k-150.py',
    'ADE20K-847': 'umg-mask2former_vit-b16_coco-stuff164k-640x640_ade20k-847.py',
    'PASCAL-Context-59': 'umg-mask2former_vit-b16_coco-stuff164k-640x640_pascal-context-59.py',
    'PASCAL-Context-459': 'umg-mask2former_vit-b16_coco-stuff164k-640x640_pascal-context-459.py',
    'Pascal VOC-20': 'umg-mask2former_vit-b16_coco-stuff164k-640x640_pascal-voc-20.py',
}


def _score(metric, samples):
    metric.results.clear()
    metric.process({}, [dict(pred_sem_seg=dict(data=pred), gt_sem_seg=dict(data=gt))
                        for pred, gt in samples])
    return metric.compute_metrics(metric.results)


@pytest.mark.parametrize('heading', BENCHMARK_CONFIGS, ids=IDS)
def test_metric_ignores_unlabeled_pixels(chain, heading, monkeypatch):
    """On the converted miniature release, through the config's own dataset (its label check)
    and metric: right on every labelled pixel scores 100 whatever the unlabeled pixels get;
    one labelled pixel wrong scores less."""
    _log(chain, heading)
    monkeypatch.chdir(chain[1])
    cfg = Config.fromfile(str(ROOT / 'configs' / 'umg' / BENCHMARK_CONFIGS[heading]))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        metric = METRICS.build(cfg.test_evaluator)
    metric.dataset_meta = dataset.metainfo
    ignore = cfg.test_evaluator.get('ignore_index', 255)
    assert dataset.ignore_index == ignore  # one ignore value for the label check and the metric
    rng = np.random.default_rng(0)
    samples, unlabeled = [], 0
    for i in range(len(dataset)):
        gt = dataset[i]['data_samples'].gt_sem_seg.data[0]
        void = gt == ignore
        unlabeled += int(void.sum())
        noise = torch.from_numpy(rng.integers(0, len(dataset.metainfo['classes']), gt.shape))
        samples.append((torch.where(void, noise, gt)[None], gt[None]))
    assert unlabeled > 0, f'{heading}: no unlabeled pixel in the miniature release'
    metrics = _score(metric, samples)
    assert metrics['aAcc'] == 100 and metrics['mIoU'] == 100, metrics
    pred, gt = samples[0]
    wrong = pred.clone()
    y, x = [int(v[0]) for v in torch.nonzero(gt[0] != ignore, as_tuple=True)]
    wrong[0, y, x] = (int(gt[0, y, x]) + 1) % len(dataset.metainfo['classes'])
    assert _score(metric, [(wrong, gt)] + samples[1:])['mIoU'] < 100
