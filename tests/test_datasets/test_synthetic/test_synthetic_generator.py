import hashlib
import json
import os
import os.path as osp
import tarfile

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest

from umg_mm.datasets.synthetic import (ALL_CLASSES, STUFF_CLASSES, THING_CLASSES,
                                       SyntheticWorldConfig, generate_synthetic_world)

SIZE = 64


def _cfg(**kwargs):
    base = dict(seed=3, num_train=24, num_val=24, num_dev=12, image_size=SIZE, shard_size=10,
                caption_noise=0.2)
    base.update(kwargs)
    return SyntheticWorldConfig(**base)


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('world') / 'synthetic')
    meta = generate_synthetic_world(root, _cfg(), workers=1)
    return root, meta


def _files(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def _records(root, split):
    with open(osp.join(root, 'umg', f'{split}.jsonl')) as f:
        return [json.loads(line) for line in f]


def _vocab(root, name):
    with open(osp.join(root, 'vocabularies', f'{name}.txt')) as f:
        return f.read().split('\n')[:-1]


def test_same_seed_gives_identical_bytes_whatever_the_workers(world, tmp_path):
    root, _ = world
    generate_synthetic_world(str(tmp_path / 'again'), _cfg(), workers=2)
    first, second = _files(root), _files(str(tmp_path / 'again'))
    assert sorted(first) == sorted(second)
    assert [k for k in first if first[k] != second[k]] == []
    generate_synthetic_world(str(tmp_path / 'other'), _cfg(seed=4), workers=1)
    other = _files(str(tmp_path / 'other'))
    assert first['umg/train.jsonl'] != other['umg/train.jsonl']


def test_layout_and_meta(world):
    root, meta = world
    assert meta['format'] == 'umg_mm.synthetic_world/1'
    assert meta['held_out'] == {'things': ['star', 'heart'], 'stuff': ['brick']}
    assert _vocab(root, 'all') == list(ALL_CLASSES)
    assert _vocab(root, 'held_out') == ['star', 'heart', 'brick']
    assert _vocab(root, 'seen') == [c for c in ALL_CLASSES if c not in ('star', 'heart', 'brick')]
    assert list(meta['splits']) == ['train', 'val', 'dev']
    for split, n in (('train', 24), ('val', 24), ('dev', 12)):
        assert len(os.listdir(osp.join(root, 'images', split))) == 2 * n  # jpg + json
        assert len(os.listdir(osp.join(root, 'seg_maps', split))) == n
        assert len(os.listdir(osp.join(root, 'annotations', f'panoptic_{split}'))) == n
        assert meta['splits'][split]['num_images'] == n
        assert meta['splits'][split]['shards'] == [f'umg/shards/{split}-00000{i}.tar'
                                                   for i in range((n + 9) // 10)]
        for rel in (f'umg/{split}.jsonl', f'annotations/panoptic_{split}.json',
                    f'annotations/instances_{split}.json', f'image_labels/{split}.json',
                    f'image_labels/{split}.txt', f'image_labels/{split}_multilabel.json'):
            assert osp.isfile(osp.join(root, rel)), rel
    assert not osp.exists(root + '.partial')


def test_umg_records_are_valid_and_identical_in_the_three_forms(world):
    root, _ = world
    for split in ('train', 'val', 'dev'):
        records = _records(root, split)
        shard_members = {}
        for shard in sorted(os.listdir(osp.join(root, 'umg', 'shards'))):
            if shard.startswith(split):
                with tarfile.open(osp.join(root, 'umg', 'shards', shard)) as tar:
                    for m in tar.getmembers():
                        shard_members[m.name] = tar.extractfile(m).read()
        assert len(shard_members) == 2 * len(records)
        for rec in records:
            stem = rec['image']['id']
            h, w = rec['image']['height'], rec['image']['width']
            assert rec['schema'] == 'umg/1' and (h, w) == (SIZE, SIZE)
            with open(osp.join(root, 'images', split, f'{stem}.json')) as f:
                assert json.load(f) == rec
            assert json.loads(shard_members[f'{stem}.json']) == rec
            image = cv2.imdecode(np.frombuffer(shard_members[f'{stem}.jpg'], np.uint8),
                                 cv2.IMREAD_COLOR)
            assert image.shape == (h, w, 3)
            assert rec['image']['file_name'] == f'{stem}.jpg'
            assert all(c.strip() for c in rec['captions']) and len(rec['captions']) == 3
            assert len(rec['regions']) >= 1
            for region in rec['regions']:
                x1, y1, x2, y2 = region['bbox']
                assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
                assert region['tags'][0] in THING_CLASSES and region['captions'][0]
            covered = np.zeros((h, w), np.int64)
            for seg in rec['segments']:
                assert seg['segmentation']['size'] == [h, w]
                mask = mask_utils.decode(seg['segmentation'])
                assert mask.shape == (h, w) and mask.sum() > 0
                assert seg['isthing'] == (seg['tags'][0] in THING_CLASSES)
                covered += mask
            assert covered.max() == 1  # segments do not overlap
            things = [s for s in rec['segments'] if s['isthing']]
            for region, seg in zip(rec['regions'], things):  # a region is its thing's box
                box = mask_utils.toBbox(seg['segmentation'])
                assert region['bbox'] == [box[0], box[1], box[0] + box[2], box[1] + box[3]]
                assert region['tags'] == seg['tags']


def test_captions_name_every_thing_and_the_layout(tmp_path):
    root = str(tmp_path / 'clean')
    generate_synthetic_world(root, _cfg(caption_noise=0.0, num_train=8, num_val=1))
    for rec in _records(root, 'train'):
        layout_caption, inventory, short = rec['captions']
        for thing in rec['extra']['things']:
            phrase = f'{thing["size"]} {thing["colour"]} {thing["shape"]}'
            assert phrase in layout_caption
            assert f'{thing["colour"]} {thing["shape"]}' in inventory
            assert thing['shape'] in short
        relation = any(rel in layout_caption for rel in ('left of', 'right of', 'above', 'below'))
        assert relation == (len(rec['extra']['things']) >= 2)  # a lone thing has no relation
        for stuff in rec['extra']['stuff']:
            assert stuff in layout_caption
        assert len(rec['extra']['things']) >= 2 or 'shape:' in inventory


def test_held_out_classes_absent_from_train_segmentation_but_in_captions(world):
    root, _ = world
    held_out = ['star', 'heart', 'brick']
    seen = _vocab(root, 'seen')
    with open(osp.join(root, 'annotations', 'panoptic_train.json')) as f:
        pan = json.load(f)
    held_ids = {ALL_CLASSES.index(c) + 1 for c in held_out}
    assert {c['name'] for c in pan['categories']} == set(seen)
    assert all(s['category_id'] not in held_ids for a in pan['annotations']
               for s in a['segments_info'])
    with open(osp.join(root, 'annotations', 'instances_train.json')) as f:
        inst = json.load(f)
    assert all(a['category_id'] not in held_ids for a in inst['annotations'])

    mentions = {c: 0 for c in held_out}
    for rec in _records(root, 'train'):
        stem = rec['image']['id']
        labels = cv2.imread(osp.join(root, 'seg_maps', 'train', f'{stem}.png'),
                            cv2.IMREAD_UNCHANGED)
        assert labels.dtype == np.uint8 and labels.shape == (SIZE, SIZE)
        assert set(np.unique(labels)) <= set(range(len(seen))) | {255}
        pan_png = cv2.imread(osp.join(root, 'annotations', 'panoptic_train', f'{stem}.png'))
        ids = pan_png[..., 2].astype(int) + 256 * pan_png[..., 1] + 65536 * pan_png[..., 0]
        for seg in rec['segments']:
            mask = mask_utils.decode(seg['segmentation']).astype(bool)
            name = seg['tags'][0]
            if name in held_out:
                mentions[name] += 1
                assert (labels[mask] == 255).all() and (ids[mask] == 0).all()
            else:
                assert (labels[mask] == seen.index(name)).all() and (ids[mask] > 0).all()
        text = ' '.join(rec['captions'])
        for name in held_out:
            if name in rec['tags']:
                assert name in text
    assert all(n > 0 for n in mentions.values()), mentions


@pytest.mark.parametrize('split', ['val', 'dev'])
def test_val_and_dev_labels_hold_every_class(world, split):
    root, meta = world
    with open(osp.join(root, 'annotations', f'panoptic_{split}.json')) as f:
        pan = json.load(f)
    assert [c['name'] for c in pan['categories']] == list(ALL_CLASSES)
    assert [c['isthing'] for c in pan['categories']] == [1] * 10 + [0] * 7
    assert meta['splits'][split]['segmentation_classes'] == list(ALL_CLASSES)
    found = set()
    for name in os.listdir(osp.join(root, 'seg_maps', split)):
        labels = cv2.imread(osp.join(root, 'seg_maps', split, name), cv2.IMREAD_UNCHANGED)
        found |= set(np.unique(labels).tolist())
    segments = {ALL_CLASSES.index(s['tags'][0]) for rec in _records(root, split)
                for s in rec['segments']}
    assert found - {255} == segments  # held-out classes kept, unlike train
    if split == 'val':
        assert segments == set(range(len(ALL_CLASSES)))


def _hashes(root, exclude):
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in _files(root).items()
            if not exclude(rel)}


def test_dev_split_leaves_train_and_val_bytes_unchanged(world, tmp_path):
    root, _ = world

    def dev_or_meta(rel):
        return rel == 'meta.json' or 'dev' in osp.basename(rel)

    with_dev = _hashes(root, dev_or_meta)
    assert any(rel.startswith('images/train') for rel in with_dev)
    without = str(tmp_path / 'no_dev')
    meta = generate_synthetic_world(without, _cfg(num_dev=0))
    assert list(meta['splits']) == ['train', 'val']
    assert _hashes(without, lambda rel: rel == 'meta.json') == with_dev
    other = str(tmp_path / 'other_dev')
    generate_synthetic_world(other, _cfg(num_dev=3))
    assert _hashes(other, dev_or_meta) == with_dev
    assert _files(other)['umg/dev.jsonl'] != _files(root)['umg/dev.jsonl']  # 3 of the 12
    # the dev images are drawn apart from val: no dev image repeats a val image
    val = {d for rel, d in _files(root).items() if rel.startswith('images/val/') and
           rel.endswith('.jpg')}
    dev = {d for rel, d in _files(root).items() if rel.startswith('images/dev/') and
           rel.endswith('.jpg')}
    assert len(dev) == 12 and not dev & val


def test_image_labels_main_label_is_the_largest_thing(world):
    root, _ = world
    with open(osp.join(root, 'image_labels', 'val.json')) as f:
        labels = json.load(f)
    with open(osp.join(root, 'image_labels', 'val.txt')) as f:
        lines = [line.split() for line in f]
    assert labels['classes'] == list(THING_CLASSES)
    for rec, entry, line in zip(_records(root, 'val'), labels['images'], lines):
        things = [s for s in rec['segments'] if s['isthing']]
        largest = max(things, key=lambda s: mask_utils.area(s['segmentation']))
        assert entry['main_label'] == largest['tags'][0]
        assert line == [rec['image']['file_name'], str(THING_CLASSES.index(entry['main_label']))]
        assert entry['labels'] == rec['tags']
        assert set(entry['labels']) <= set(ALL_CLASSES)


@pytest.mark.parametrize('split', ['val', 'dev'])
def test_multi_label_file_lists_every_thing_present(world, split):
    root, _ = world
    with open(osp.join(root, 'image_labels', f'{split}_multilabel.json')) as f:
        multi = json.load(f)
    assert multi['metainfo'] == {'classes': list(THING_CLASSES)}
    records = _records(root, split)
    assert len(multi['data_list']) == len(records)
    sizes = set()
    for rec, entry in zip(records, multi['data_list']):
        things = {t['shape'] for t in rec['extra']['things']}
        assert entry['img_path'] == rec['image']['file_name']
        assert [THING_CLASSES[i] for i in entry['gt_label']] == \
            [c for c in THING_CLASSES if c in things]
        sizes.add(len(entry['gt_label']))
    assert min(sizes) >= 1 and max(sizes) > 1
    from mmpretrain.datasets import MultiLabelDataset  # the format it reads
    dataset = MultiLabelDataset(ann_file=f'image_labels/{split}_multilabel.json', data_root=root,
                                data_prefix=f'images/{split}', pipeline=[])
    assert list(dataset.metainfo['classes']) == list(THING_CLASSES)
    assert dataset.get_cat_ids(1) == multi['data_list'][1]['gt_label']
    assert dataset[1]['img_path'] == osp.join(root, 'images', split,
                                              records[1]['image']['file_name'])


def test_panoptic_json_matches_png_for_panopticapi(world, tmp_path):
    from panopticapi.evaluation import pq_compute
    root, _ = world
    ann = osp.join(root, 'annotations', 'panoptic_val.json')
    folder = osp.join(root, 'annotations', 'panoptic_val')
    result = pq_compute(ann, ann, folder, folder)
    assert result['All']['pq'] == pytest.approx(1.0)
    assert result['All']['n'] == len(ALL_CLASSES)


def test_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match="'moon'.*choose among"):
        generate_synthetic_world(str(tmp_path / 'a'), _cfg(held_out_things=['moon']))
    with pytest.raises(ValueError, match='all stuff categories'):
        generate_synthetic_world(str(tmp_path / 'a'), _cfg(held_out_stuff=list(STUFF_CLASSES)))
    with pytest.raises(ValueError, match='caption_noise=1.5'):
        generate_synthetic_world(str(tmp_path / 'a'), _cfg(caption_noise=1.5))
    with pytest.raises(ValueError, match='num_dev=-1.*at least 0'):
        generate_synthetic_world(str(tmp_path / 'a'), _cfg(num_dev=-1))


def test_existing_folders_are_protected(tmp_path):
    precious = tmp_path / 'precious'
    precious.mkdir()
    (precious / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='not empty'):
        generate_synthetic_world(str(precious), _cfg(num_train=2, num_val=1))
    with pytest.raises(FileExistsError, match='holds no synthetic world'):
        generate_synthetic_world(str(precious), _cfg(num_train=2, num_val=1), overwrite=True)
    assert (precious / 'notes.txt').read_text() == 'keep me'

    world = str(tmp_path / 'world')
    generate_synthetic_world(world, _cfg(num_train=4, num_val=1))
    meta = generate_synthetic_world(world, _cfg(num_train=2, num_val=1), overwrite=True)
    assert meta['splits']['train']['num_images'] == 2
    assert len(os.listdir(osp.join(world, 'seg_maps', 'train'))) == 2
    assert sorted(os.listdir(tmp_path)) == ['precious', 'world']


def test_no_held_out_classes(tmp_path):
    root = str(tmp_path / 'all')
    meta = generate_synthetic_world(root, _cfg(held_out_things=[], held_out_stuff=[],
                                               num_train=4, num_val=1))
    assert meta['splits']['train']['segmentation_classes'] == list(ALL_CLASSES)
    assert _vocab(root, 'held_out') == []


def test_shards_read_by_webdataset(world):
    import webdataset as wds
    root, meta = world
    urls = [osp.join(root, s) for s in meta['splits']['val']['shards']]
    samples = list(wds.WebDataset(urls, shardshuffle=False, empty_check=False))
    records = _records(root, 'val')
    assert [s['__key__'] for s in samples] == [r['image']['id'] for r in records]
    assert all(json.loads(s['json']) == r for s, r in zip(samples, records))
    assert all(s['jpg'][:2] == b'\xff\xd8' for s in samples)
