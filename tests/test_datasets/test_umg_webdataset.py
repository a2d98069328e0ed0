import json
import tarfile

import pytest
import torch
from mmengine.model import BaseModel
from torch.utils.data import get_worker_info
from mmengine.runner import Runner

from tests.umg_fixtures import encode_png, make_samples, write_shards, write_tar
from umg_mm.registry import DATASETS

NUM_SAMPLES = 12


@pytest.fixture
def shard_pattern(tmp_path):
    write_shards(str(tmp_path), make_samples(NUM_SAMPLES, height=16, width=24), num_shards=4)
    return str(tmp_path / 'shard-{0000..0003}.tar')


def _ids_seen(dataset_cfg, num_workers, epochs=1):
    """img_ids yielded per epoch by a Runner-built dataloader (sampler=None)."""
    loader = Runner.build_dataloader(
        dict(dataset=dataset_cfg, sampler=None, batch_size=2, num_workers=num_workers,
             persistent_workers=False, collate_fn=dict(type='pseudo_collate')),
        seed=0)
    assert len(loader) == NUM_SAMPLES // 2 // 2  # what EpochBasedTrainLoop counts per epoch
    return [[img_id for batch in loader for img_id in batch['img_id']] for _ in range(epochs)]


@pytest.mark.parametrize('num_workers', [0, 2])
def test_two_ranks_over_four_shards_see_each_sample_exactly_once(shard_pattern, num_workers):
    seen = {}
    for rank in (0, 1):
        cfg = dict(type='UMGWebDataset', shards=shard_pattern, pipeline=[], seed=1,
                   shuffle_buffer=4, num_samples=NUM_SAMPLES, rank=rank, world_size=2)
        seen[rank] = _ids_seen(cfg, num_workers, epochs=2)
    for epoch in range(2):
        rank0, rank1 = seen[0][epoch], seen[1][epoch]
        assert len(rank0) == len(set(rank0)) == NUM_SAMPLES // 2
        assert len(rank1) == len(set(rank1)) == NUM_SAMPLES // 2
        assert not set(rank0) & set(rank1)
        assert sorted(rank0 + rank1) == [f'img_{i:04d}' for i in range(NUM_SAMPLES)]


def test_rank_comes_from_mmengine_dist(shard_pattern, monkeypatch):
    ds_cfg = dict(type='UMGWebDataset', shards=shard_pattern, pipeline=[],
                  num_samples=NUM_SAMPLES)
    seen = []
    for rank in (0, 1):
        monkeypatch.setattr('umg_mm.datasets.umg_webdataset.get_dist_info',
                            lambda rank=rank: (rank, 2))
        dataset = DATASETS.build(ds_cfg)
        assert len(dataset) == NUM_SAMPLES // 2
        # rank r reads shards r and r + 2; sample i is in shard i % 4
        ids = sorted(info['img_id'] for info in dataset)
        assert ids == sorted(f'img_{i:04d}' for i in range(NUM_SAMPLES) if i % 2 == rank)
        seen += ids
    assert sorted(seen) == [f'img_{i:04d}' for i in range(NUM_SAMPLES)]


@pytest.mark.parametrize('num_workers', [0, 2])
def test_rank_is_read_in_the_main_process(shard_pattern, monkeypatch, num_workers):
    """As under torch.distributed, dataloader workers see no process group (rank 0 of 1): the
    rank must be taken when the dataset is built."""
    seen = []
    for rank in (0, 1):
        def dist_info(rank=rank):
            return (0, 1) if get_worker_info() is not None else (rank, 2)

        monkeypatch.setattr('umg_mm.datasets.umg_webdataset.get_dist_info', dist_info)
        cfg = dict(type='UMGWebDataset', shards=shard_pattern, pipeline=[],
                   num_samples=NUM_SAMPLES)
        seen.append(_ids_seen(cfg, num_workers)[0])
    assert len(seen[0]) == len(seen[1]) == NUM_SAMPLES // 2
    assert sorted(seen[0] + seen[1]) == [f'img_{i:04d}' for i in range(NUM_SAMPLES)]


def test_shard_order_is_seeded_and_changes_with_the_epoch(shard_pattern):
    def order(seed, epoch):
        ds = DATASETS.build(dict(type='UMGWebDataset', shards=shard_pattern, seed=seed))
        ds.set_epoch(epoch)
        return ds.shards_of_this_worker()

    assert order(3, 0) == order(3, 0)
    orders = {tuple(order(3, epoch)) for epoch in range(8)}
    assert len(orders) > 1
    assert all(sorted(o) == sorted(order(3, 0)) for o in orders)


def test_packed_samples_stream_through_the_pipeline(shard_pattern):
    pipeline = [dict(type='LoadUMGImage'), dict(type='LoadUMGAnnotations'),
                dict(type='PackUMGInputs')]
    ds = DATASETS.build(dict(type='UMGWebDataset', shards=shard_pattern, pipeline=pipeline,
                             shuffle_shards=False))
    items = list(ds)
    assert len(items) == NUM_SAMPLES
    sample = items[0]['data_samples']
    assert items[0]['inputs'].shape == (3, 16, 24)
    assert sample.img_path.endswith('shard-0000.tar#img_0000.png')
    assert len(sample.gt_instances) == 2 and len(sample.gt_segments) == 3


def test_fewer_shards_than_ranks_is_an_error(shard_pattern):
    ds = DATASETS.build(dict(type='UMGWebDataset', shards=shard_pattern, rank=5, world_size=6))
    with pytest.raises(ValueError, match='4 shard.*6 ranks: rank 5 gets none'):
        list(ds)


def test_len_needs_num_samples(shard_pattern):
    ds = DATASETS.build(dict(type='UMGWebDataset', shards=shard_pattern))
    with pytest.raises(TypeError, match='num_samples'):
        len(ds)


def _bad_shard(tmp_path):
    record, img = make_samples(1, height=16, width=24)[0]
    record['regions'][0]['bbox'] = [0, 0, 30, 5]
    good, good_img = make_samples(2, height=16, width=24)[1]
    return write_tar(str(tmp_path / 'bad.tar'), [
        ('a.png', encode_png(img)), ('a.json', json.dumps(record).encode()),
        ('b.png', encode_png(good_img)), ('b.json', json.dumps(good).encode()),
        ('c.png', encode_png(good_img))])


def test_invalid_sample_raises_naming_shard_key_and_field(tmp_path):
    ds = DATASETS.build(dict(type='UMGWebDataset', shards=_bad_shard(tmp_path)))
    with pytest.raises(ValueError, match=r'bad.tar \[key a\] regions\[0\].bbox'):
        list(ds)


def test_skip_invalid_skips_and_counts_shard_samples(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr('umg_mm.datasets.invalid_records.print_log',
                        lambda msg, **kwargs: logged.append(msg))
    ds = DATASETS.build(dict(type='UMGWebDataset', shards=_bad_shard(tmp_path),
                             skip_invalid=True))
    for _ in range(2):  # two epochs: the bad samples are skipped each time, logged once
        assert [info['img_id'] for info in ds] == ['img_0001']
    assert ds.num_skipped == 4
    assert len(logged) == 2
    assert 'key a' in logged[0] and 'box_outside_image' in logged[0]
    assert 'key c' in logged[1] and 'missing_annotation' in logged[1]


class _CountingModel(BaseModel):
    """Records the image ids it is trained on."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def forward(self, inputs, data_samples=None, mode='loss'):
        self.seen.append([s.img_id for s in data_samples])
        num_regions = sum(len(s.gt_instances) for s in data_samples)
        return dict(loss=self.weight.sum() * 0 + num_regions)


def _shard_runner(tmp_path, dataset, train_cfg, log_processor=None):
    """A Runner training a _CountingModel on ``dataset`` (an ``UMGWebDataset`` config, packed
    samples, no sampler)."""
    pipeline = [dict(type='LoadUMGImage'), dict(type='LoadUMGAnnotations'),
                dict(type='PackUMGInputs')]
    return Runner(
        model=_CountingModel(), work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(dataset=dict(dataset, type='UMGWebDataset', pipeline=pipeline),
                              sampler=None, batch_size=4, num_workers=0),
        train_cfg=train_cfg, optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='AtomicCheckpointHook', interval=100)),
        log_processor=log_processor or dict(), randomness=dict(seed=0), log_level='WARNING')


def test_epoch_based_runner_trains_on_shards_without_a_sampler(shard_pattern, tmp_path):
    runner = _shard_runner(tmp_path, dict(shards=shard_pattern, num_samples=NUM_SAMPLES, seed=0),
                           dict(by_epoch=True, max_epochs=2))
    runner.train()
    seen = runner.model.seen
    assert runner.iter == 2 * NUM_SAMPLES // 4
    epochs = [sum(seen[:3], []), sum(seen[3:], [])]
    for ids in epochs:
        assert sorted(ids) == [f'img_{i:04d}' for i in range(NUM_SAMPLES)]
    assert epochs[0] != epochs[1]  # shards are reshuffled each epoch


def test_wrongly_sized_image_in_a_shard_is_an_invalid_sample(tmp_path):
    record, _ = make_samples(1, height=16, width=24)[0]
    small = make_samples(1, height=10, width=24)[0][1]
    shard = write_tar(str(tmp_path / 's.tar'), [('a.png', encode_png(small)),
                                                ('a.json', json.dumps(record).encode())])
    with pytest.raises(ValueError, match=r's.tar \[key a\] image: .*16x24 but the image is 10x24'):
        list(DATASETS.build(dict(type='UMGWebDataset', shards=shard)))
    ds = DATASETS.build(dict(type='UMGWebDataset', shards=shard, skip_invalid=True))
    assert list(ds) == [] and ds.num_skipped == 1


def _truncated_shards(tmp_path):
    """shard-0000.tar cut inside its third sample's image; shard-0001.tar intact."""
    shards = write_shards(str(tmp_path), make_samples(8, height=16, width=24), 2)
    data = open(shards[0], 'rb').read()
    members = [m for m in tarfile.open(shards[0]).getmembers()]
    third_image = next(m for m in members if m.name == 'img_0004.png')
    open(shards[0], 'wb').write(data[:third_image.offset_data + 20])
    return shards


def test_truncated_shard_raises_naming_shard_and_member(tmp_path):
    shards = _truncated_shards(tmp_path)
    ds = DATASETS.build(dict(type='UMGWebDataset', shards=shards, shuffle_shards=False))
    seen = []
    with pytest.raises(ValueError, match=rf"shard {shards[0]} cannot be read at member "
                       r"'img_0004.png' .*after 2 complete sample\(s\); 1 incomplete"):
        for info in ds:
            seen.append(info['img_id'])
    assert seen == ['img_0000', 'img_0002']


def test_skip_invalid_skips_the_unreadable_rest_of_a_shard_and_logs_it(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr('umg_mm.datasets.umg_webdataset.print_log',
                        lambda msg, **kwargs: logged.append(msg))
    shards = _truncated_shards(tmp_path)
    ds = DATASETS.build(dict(type='UMGWebDataset', shards=shards, shuffle_shards=False,
                             skip_invalid=True))
    assert [info['img_id'] for info in ds] == ['img_0000', 'img_0002', 'img_0001', 'img_0003',
                                               'img_0005', 'img_0007']
    assert ds.num_skipped_shards == 1
    [message] = logged
    assert shards[0] in message and "member 'img_0004.png'" in message
    assert 'after 2 complete sample(s); 1 incomplete sample(s) lost' in message


@pytest.mark.parametrize('num_samples', [None, 1000])
def test_iteration_based_runner_needs_num_samples_an_estimate_is_enough(
        shard_pattern, tmp_path, num_samples):
    runner = _shard_runner(tmp_path, dict(shards=shard_pattern, seed=0, num_samples=num_samples),
                           dict(by_epoch=False, max_iters=5), dict(by_epoch=False))
    if num_samples is None:
        with pytest.raises(TypeError, match='set num_samples.*IterBasedTrainLoop an estimate'):
            runner.train()
        return
    runner.train()  # 1000 is not the true 12: the loop cycles through the shards
    assert runner.iter == 5 and len(runner.model.seen) == 5
