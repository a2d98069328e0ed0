"""docs/custom_data.md, followed step by step on small data in each of its three formats.

The test writes a user's files (UMG JSON beside 64 px images; COCO panoptic JSON + PNGs; label maps
+ images), then runs the guide's blocks marked ``<!-- guide-step -->`` in order, in a folder laid
out like the repository root (``tools/`` and ``configs/`` linked in, ``python`` on the PATH):
a block whose first line is ``# file: PATH`` is written to PATH, a ``bash`` block is run. One
substitution: each guide config ``my_configs/X.py`` is run as ``my_configs/X_tiny.py``, a config
of this test that ``_base_``s the guide's and changes only sizes: the model (3-block CLIP, small
head), the images (the guide's pipelines at 64 px) and the schedule (2 iterations, batch 2, no
dataloader workers). Change the guide and this test runs the new commands.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from panopticapi.utils import id2rgb

import umg_mm  # noqa: F401  (allow-lists what mmengine checkpoints hold for torch.load)

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / 'docs' / 'custom_data.md'
STEP = re.compile(r'<!-- guide-step -->\n```(\w+)\n(.*?)\n```', re.S)
PARTS = {'pretrain': '## A.', 'panoptic': '## B.', 'semseg': '## C.'}
SIZE = 64

SHORT = """train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
"""
LOADER = "num_workers=0, persistent_workers=False"

TINY = {
    'pretrain_my_data': f"""_base_ = ['./pretrain_my_data.py']
model = dict(data_preprocessor=dict(pad_size_divisor=8),
             clip=dict(model_name='umg-vit-tiny-8', checkpoint='random'),
             text_encoder=dict(templates=['{{}}', 'a {{}}']),
             test_cfg=dict(templates=['{{}}', 'a {{}}']))
train_dataloader = dict(batch_size=2, {LOADER}, dataset=dict(num_samples=4))
val_dataloader = dict(batch_size=2, {LOADER})
test_dataloader = val_dataloader
{SHORT}""",
    'panoptic_my_data': f"""_base_ = ['./panoptic_my_data.py']
feat_channels = 32
model = dict(
    data_preprocessor=dict(pad_size_divisor=16),
    clip=dict(model_name='umg-vit-tiny-8', checkpoint='random'),
    backbone=dict(out_indices=(1, 1, 2, 2), lora=dict(r=4, alpha=8)),
    neck=dict(embed_dim=96, out_channels=feat_channels),
    text_encoder=dict(templates=['{{}}', 'a {{}}']),
    panoptic_head=dict(
        in_channels=[feat_channels] * 4, feat_channels=feat_channels,
        out_channels=feat_channels, num_queries=10,
        pixel_decoder=dict(
            norm_cfg=dict(type='GN', num_groups=8),
            encoder=dict(num_layers=1, layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=feat_channels, num_heads=2, num_points=2),
                ffn_cfg=dict(embed_dims=feat_channels, feedforward_channels=64))),
            positional_encoding=dict(num_feats=feat_channels // 2)),
        positional_encoding=dict(num_feats=feat_channels // 2),
        transformer_decoder=dict(num_layers=2, layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=feat_channels, num_heads=2),
            cross_attn_cfg=dict(embed_dims=feat_channels, num_heads=2),
            ffn_cfg=dict(embed_dims=feat_channels, feedforward_channels=64)))),
    train_cfg=dict(num_points=256))
image_size = ({SIZE}, {SIZE})
train_dataloader = dict(batch_size=2, {LOADER}, dataset=dict(pipeline=[
    dict(type='LoadImageFromFile', to_float32=True),
    dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=image_size, crop_type='absolute', recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='PackDetInputs')]))
val_dataloader = dict(batch_size=2, {LOADER}, dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]))
test_dataloader = val_dataloader
{SHORT}""",
    'semseg_my_data': f"""_base_ = ['./semseg_my_data.py']
feat_channels = 32
attn = dict(embed_dims=feat_channels, num_heads=2)
ffn = dict(embed_dims=feat_channels, feedforward_channels=64)
model = dict(
    data_preprocessor=dict(size=({SIZE}, {SIZE}), test_cfg=dict(size_divisor=8)),
    clip=dict(model_name='umg-vit-tiny-8', checkpoint='random'),
    text_encoder=dict(templates=['{{}}', 'a {{}}']),
    backbone=dict(out_indices=(0, 1, 2, 2), lora=dict(r=4, alpha=8)),
    neck=dict(embed_dim=96, out_channels=feat_channels),
    decode_head=dict(
        in_channels=[feat_channels] * 4, strides=[2, 4, 8, 16], feat_channels=feat_channels,
        out_channels=feat_channels, num_queries=10,
        pixel_decoder=dict(
            norm_cfg=dict(num_groups=8),
            encoder=dict(num_layers=1, layer_cfg=dict(self_attn_cfg=attn, ffn_cfg=ffn)),
            positional_encoding=dict(num_feats=feat_channels // 2)),
        positional_encoding=dict(num_feats=feat_channels // 2),
        transformer_decoder=dict(
            num_layers=2, layer_cfg=dict(self_attn_cfg=attn, cross_attn_cfg=attn, ffn_cfg=ffn)),
        train_cfg=dict(num_points=256)))
train_dataloader = dict(batch_size=2, {LOADER}, dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(256, {SIZE}), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=({SIZE}, {SIZE}), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')]))
val_dataloader = dict(batch_size=2, {LOADER}, dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, {SIZE}), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')]))
test_dataloader = val_dataloader
{SHORT}""",
}


def guide_steps(part: str):
    """The guide's marked blocks in one part (between its heading and the next ``## ``)."""
    text = GUIDE.read_text()
    start = text.index(PARTS[part])
    end = text.find('\n## ', start + 1)
    return STEP.findall(text[start:end if end >= 0 else None])


def _shape_mask(kind: str, box):
    """A binary (SIZE, SIZE) mask of a square, circle or triangle filling ``box``."""
    x1, y1, x2, y2 = box
    mask = np.zeros((SIZE, SIZE), np.uint8)
    if kind == 'square':
        mask[y1:y2, x1:x2] = 1
    elif kind == 'circle':
        cv2.circle(mask, ((x1 + x2) // 2, (y1 + y2) // 2), (x2 - x1) // 2, 1, -1)
    else:
        cv2.fillPoly(mask, [np.array([[x1, y2 - 1], [x2 - 1, y2 - 1], [(x1 + x2) // 2, y1]])], 1)
    return mask.astype(bool)


COLORS = dict(square=(0, 0, 220), circle=(220, 0, 0), triangle=(0, 200, 200),
              grass=(40, 160, 40), sand=(120, 200, 230), water=(200, 100, 20))
SCENES = [('square', 'grass'), ('circle', 'sand'), ('triangle', 'water'), ('square', 'sand')]
BOX = (8, 8, 40, 40)


def _scene(i: int):
    """Image i: a shape on a stuff background; returns (image, shape, stuff, shape mask)."""
    shape, stuff = SCENES[i % len(SCENES)]
    mask = _shape_mask(shape, BOX)
    image = np.empty((SIZE, SIZE, 3), np.uint8)
    image[:] = COLORS[stuff]
    image[mask] = COLORS[shape]
    return image, shape, stuff, mask


def write_umg_folders(root: Path):
    """Folder trees of images with a UMG JSON beside each: train 4, val 2."""
    for split, count in (('train', 4), ('val', 2)):
        folder = root / 'data' / 'my_umg' / split
        folder.mkdir(parents=True)
        for i in range(count):
            image, shape, stuff, mask = _scene(i + (1 if split == 'val' else 0))
            if shape == 'triangle':  # not in the evaluation vocabulary of the guide
                image, shape, stuff, mask = _scene(0)
            stem = f'{i:06d}'
            cv2.imwrite(str(folder / f'{stem}.jpg'), image)
            background = mask_utils.encode(np.asfortranarray((~mask).astype(np.uint8)))
            x1, y1, x2, y2 = BOX
            record = {
                'schema': 'umg/1',
                'image': {'file_name': f'{stem}.jpg', 'height': SIZE, 'width': SIZE, 'id': stem},
                'captions': [f'a {shape} on {stuff}'], 'tags': [shape, stuff],
                'regions': [{'bbox': [float(v) for v in BOX], 'captions': [f'a {shape}'],
                             'tags': [shape]}],
                'segments': [
                    {'segmentation': [[x1, y1, x2, y1, x2, y2, x1, y2]], 'tags': [shape],
                     'isthing': True},
                    {'segmentation': {'size': [SIZE, SIZE],
                                      'counts': background['counts'].decode()},
                     'tags': [stuff], 'isthing': False}]}
            (folder / f'{stem}.json').write_text(json.dumps(record))


PAN_CATEGORIES = [dict(id=1, name='square', isthing=1), dict(id=2, name='circle', isthing=1),
                  dict(id=3, name='triangle', isthing=1), dict(id=4, name='grass', isthing=0),
                  dict(id=5, name='sand', isthing=0), dict(id=6, name='water', isthing=0)]


def write_coco_panoptic(root: Path):
    """COCO panoptic JSON + PNGs: train 4 images (the held-out triangle and water in one), val 4."""
    data = root / 'data' / 'my_pan'
    cat_id = {c['name']: c['id'] for c in PAN_CATEGORIES}
    for split in ('train', 'val'):
        (data / 'images' / split).mkdir(parents=True)
        (data / 'annotations' / f'panoptic_{split}').mkdir(parents=True)
        images, annotations = [], []
        for i in range(4):
            image, shape, stuff, mask = _scene(i)
            name = f'{i:06d}'
            cv2.imwrite(str(data / 'images' / split / f'{name}.jpg'), image)
            ids = np.where(mask, 1, 2).astype(np.int64)
            cv2.imwrite(str(data / 'annotations' / f'panoptic_{split}' / f'{name}.png'),
                        id2rgb(ids)[:, :, ::-1])
            segments = []
            for segment_id, category, seg in ((1, shape, mask), (2, stuff, ~mask)):
                ys, xs = np.nonzero(seg)
                segments.append(dict(
                    id=segment_id, category_id=cat_id[category], iscrowd=0, area=int(seg.sum()),
                    bbox=[int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
                          int(ys.max() - ys.min() + 1)]))
            images.append(dict(id=i, file_name=f'{name}.jpg', height=SIZE, width=SIZE))
            annotations.append(dict(image_id=i, file_name=f'{name}.png', segments_info=segments))
        (data / 'annotations' / f'panoptic_{split}.json').write_text(json.dumps(dict(
            images=images, annotations=annotations, categories=PAN_CATEGORIES)))


SEG_CLASSES = ['sky', 'grass', 'water', 'road', 'car']


def write_label_maps(root: Path):
    """Images and uint8 label maps (values = lines of the guide's classes.txt, 255 unlabeled):
    sky on top, grass or water in the middle, road below, a car on the road."""
    data = root / 'data' / 'my_seg'
    for split, count in (('train', 4), ('val', 2)):
        (data / 'images' / split).mkdir(parents=True)
        (data / 'labels' / split).mkdir(parents=True)
        for i in range(count):
            labels = np.zeros((SIZE, SIZE), np.uint8)
            labels[20:40] = 2 if (i + (split == 'val')) % 2 else 1  # water or grass
            labels[40:] = 3
            labels[44:56, 8 + 8 * i:28 + 8 * i] = 4
            labels[18:20] = 255  # an unlabeled seam
            palette = np.array([[230, 180, 120], [40, 160, 40], [200, 100, 20], [90, 90, 90],
                                [20, 20, 200]], np.uint8)
            image = palette[np.minimum(labels, 4)]
            cv2.imwrite(str(data / 'images' / split / f'{i:06d}.jpg'), image)
            cv2.imwrite(str(data / 'labels' / split / f'{i:06d}.png'), labels)


WRITERS = dict(pretrain=write_umg_folders, panoptic=write_coco_panoptic, semseg=write_label_maps)


def follow_guide(part: str, project: Path) -> str:
    """Lay out ``project`` like the repository root, write the part's data, run its steps."""
    (project / 'tools').symlink_to(ROOT / 'tools')
    (project / 'configs').symlink_to(ROOT / 'configs')
    (project / 'my_configs').mkdir()
    bin_dir = project / 'bin'
    bin_dir.mkdir()
    shim = bin_dir / 'python'  # a script, not a link: a venv's python finds its venv by path
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    WRITERS[part](project)
    env = dict(os.environ, PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}', OMP_NUM_THREADS='1',
               PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
    log = ''
    steps = guide_steps(part)
    assert steps, f'no guide-step in part {PARTS[part]} of {GUIDE}'
    for lang, body in steps:
        first, _, rest = body.partition('\n')
        if first.startswith('# file: '):
            path = project / first[len('# file: '):].strip()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text((body if lang == 'python' else rest) + '\n')
            if path.parent.name == 'my_configs' and path.stem in TINY:
                (path.parent / f'{path.stem}_tiny.py').write_text(TINY[path.stem])
            continue
        assert lang == 'bash', f'a guide-step block is a "# file:" block or bash, got {lang}'
        for stem in TINY:
            body = body.replace(f'my_configs/{stem}.py', f'my_configs/{stem}_tiny.py')
        result = subprocess.run(['bash', '-euo', 'pipefail', '-c', body], cwd=project, env=env,
                                capture_output=True, text=True, timeout=600)
        log += result.stdout + result.stderr
        assert result.returncode == 0, \
            f'guide step failed:\n{body}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}'
    return log


@pytest.fixture(scope='module')
def guide_runs(tmp_path_factory):
    """The three parts, followed concurrently (each is a chain of single-threaded processes)."""
    projects = {part: tmp_path_factory.mktemp(part) for part in PARTS}
    with ThreadPoolExecutor(len(PARTS)) as pool:
        futures = {part: pool.submit(follow_guide, part, project)
                   for part, project in projects.items()}
        return {part: (projects[part], future) for part, future in futures.items()}


def _follow(guide_runs, part):
    project, future = guide_runs[part]
    return project, future.result()


def _best(work_dir: Path, metric: str) -> Path:
    best = sorted(work_dir.glob(f'best_{metric}_iter_*.pth'))
    assert len(best) == 1, sorted(p.name for p in work_dir.iterdir())
    assert torch.load(best[0], weights_only=True)['meta']['iter'] == 2
    return best[0]


def test_guide_pretraining_on_umg_json_and_shards(guide_runs):
    project, log = _follow(guide_runs, 'pretrain')
    with tarfile.open(project / 'data/my_umg/shards/my-000000.tar') as tar:
        assert len(tar.getnames()) == 8  # 4 images, 4 JSON
    assert 'checked 6 record(s): 0 problem(s)' in log
    for key in ('loss_image_text', 'loss_region_text', 'loss_pixel_text', 'region/top1',
                'dense/mIoU', 'retrieval/'):
        assert key in log, key
    _best(project / 'work_dirs/pretrain_my_data', 'dense_mIoU')
    # the frozen towers: only LoRA adapters (and temperatures) train
    assert re.search(r'UMGCLIPBackbone\(umg-vit-tiny-8, lora=.*\): trainable parameters', log)
    test_log = next((project / 'work_dirs/pretrain_my_data_test').glob('*/*.log')).read_text()
    assert 'region/top1' in test_log and 'dense/mIoU' in test_log


def test_guide_panoptic_on_coco_panoptic(guide_runs):
    project, log = _follow(guide_runs, 'panoptic')
    assert 'train vocabulary: 2 things + 2 stuff (square, circle, grass, sand)' in log
    assert 'val vocabulary: 3 things + 3 stuff' in log
    assert 'test vocabulary: 3 things + 3 stuff (box, ring, wedge, lawn, beach, sea)' in log
    for key in ('coco_panoptic/PQ:', 'coco_panoptic/PQ_seen', 'coco_panoptic/PQ_held_out',
                'panoptic_semseg/mIoU'):
        assert key in log, key
    _best(project / 'work_dirs/panoptic_my_data', 'coco_panoptic_PQ')


def test_guide_semseg_on_label_maps(guide_runs):
    project, log = _follow(guide_runs, 'semseg')
    assert 'val vocabulary: 5 classes (' in log
    assert 'mIoU over 4 seen classes' in log
    _best(project / 'work_dirs/semseg_my_data', 'mIoU_held_out')
    assert 'test vocabulary: 5 classes (' in log
    assert re.search(r'\|\s+lake\s+\|', log), 'the per-class table under the new names'


def test_guide_errors(tmp_path, monkeypatch):
    """The wrong inputs of the guide's error table, on the guide's semantic config: a missing
    class-list file (through tools/train.py), a vocabulary with an empty or a repeated name, a
    label map value beyond the class list (when the guide's training dataset is built and read)."""
    (tmp_path / 'configs').symlink_to(ROOT / 'configs')
    write_label_maps(tmp_path)
    (tmp_path / 'my_configs').mkdir()
    for lang, body in guide_steps('semseg'):
        first, _, rest = body.partition('\n')
        if first.startswith('# file: '):
            path = tmp_path / first[len('# file: '):].strip()
            path.write_text((body if lang == 'python' else rest) + '\n')
    monkeypatch.chdir(tmp_path)
    config = 'my_configs/semseg_my_data.py'

    spec = importlib.util.spec_from_file_location('train_tool', ROOT / 'tools' / 'train.py')
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    monkeypatch.setattr(sys, 'argv', [
        'train.py', config, '--cfg-options',
        'train_dataloader.dataset.vocabulary=data/my_seg/seen_classes.txt'])
    with pytest.raises(FileNotFoundError, match=re.escape(
            "semseg_my_data.py: train_dataloader.dataset.vocabulary='data/my_seg/seen_classes.txt'"
            " names a class-list file that does not exist")):
        train.main()

    init_default_scope('mmseg')
    dataset_cfg = Config.fromfile(config).train_dataloader.dataset
    (tmp_path / 'data/my_seg/classes.txt').write_text('sky\ngrass,,lawn\nwater\nroad\ncar\n')
    with pytest.raises(ValueError, match=r"classes\.txt, line 2: empty class name in "
                                         r"'grass, , lawn'"):
        DATASETS.build(dataset_cfg)
    (tmp_path / 'data/my_seg/classes.txt').write_text('sky\ngrass\nwater\nroad\nsky\n')
    with pytest.raises(ValueError, match=r"classes\.txt, line 5: class 'sky' repeats line 1"):
        DATASETS.build(dataset_cfg)
    (tmp_path / 'data/my_seg/classes.txt').write_text('sky\ngrass\nwater\nroad\n')  # no car
    (tmp_path / 'data/my_seg/seen.txt').write_text('sky\ngrass\nroad\n')
    dataset = DATASETS.build(dataset_cfg)
    with pytest.raises(ValueError, match=r'label map \S+/labels/train/\d+\.png holds value\(s\) '
                                         r'\[4\], but the class list \(vocabulary data/my_seg/'
                                         r'classes\.txt\) has 4 classes \(labels 0\.\.3\) and '
                                         r'the ignore index is 255'):
        dataset[0]
