"""AtomicCheckpointHook: training killed (SIGKILL) at every step of a checkpoint save resumes.

Each run is a child process (forked from a fresh forkserver) training a tiny model for 6
iterations (a checkpoint every 2, ``max_keep_ckpts=1``). A fault armed in the child kills it with
SIGKILL at one point of a save: part-way through writing the checkpoint's bytes, or just before or
after a sync, a rename or the removal of the old checkpoint. The run is then resumed as
``tools/train.py --resume`` does it (:func:`find_resumable_checkpoint`) and must end with the
weights of an uninterrupted run.
"""
import logging
import multiprocessing
import os
import os.path as osp
import signal

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.fileio import LocalBackend
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from umg_mm.utils.checkpoint_files import find_resumable_checkpoint, load_checkpoint_file

MAX_ITERS, INTERVAL = 6, 2


class _Points(Dataset):
    """16 fixed (x, y) pairs of a linear function."""

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(16, 4, generator=gen)
        self.y = self.x @ torch.tensor([1., -2., 3., .5]) + 1

    def __len__(self):
        return 16

    def __getitem__(self, i):
        return dict(inputs=self.x[i], target=self.y[i])


class _Linear(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)
        self.register_buffer('steps', torch.zeros((), dtype=torch.long))  # saved and resumed

    def forward(self, inputs, target, mode='loss'):
        if mode == 'predict':
            return [self.steps.item()] * len(inputs)
        self.steps += 1
        pred = self.fc(torch.stack(inputs)).squeeze(1)
        return dict(loss=((pred - torch.stack(target))**2).mean())


class _StepsMetric(BaseMetric):
    """The model's training step count: every validation is a new best (``save_best``)."""

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(steps=max(results))


def _train(work_dir: str, resume_from=None, save_best=False):
    torch.set_num_threads(1)
    val = dict(val_dataloader=dict(dataset=_Points(), batch_size=8, num_workers=0,
                                   sampler=dict(type='DefaultSampler', shuffle=False)),
               val_cfg=dict(type='ValLoop'), val_evaluator=[_StepsMetric()]) if save_best else {}
    runner = Runner(
        model=_Linear(), work_dir=work_dir,
        train_dataloader=dict(dataset=_Points(), batch_size=4, num_workers=0,
                              sampler=dict(type='InfiniteSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=MAX_ITERS, val_interval=INTERVAL),
        default_hooks=dict(checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False,
                                           interval=INTERVAL, max_keep_ckpts=1,
                                           save_best='steps' if save_best else None,
                                           rule='greater')),
        **val,
        randomness=dict(seed=0), resume=resume_from is not None, load_from=resume_from,
        env_cfg=dict(dist_cfg=dict(backend='gloo')), default_scope='mmengine')
    runner.train()


def _arm(fault, work_dir: str) -> None:
    """Make this process SIGKILL itself at ``fault`` = (operation, call number, when)."""
    op, k, when = fault
    calls = [0]

    def kill():
        os.kill(os.getpid(), signal.SIGKILL)

    if op == 'write':  # the k-th checkpoint file: only ``when`` bytes reach the disk
        put = LocalBackend.put

        def partial_put(self, obj, filepath):
            calls[0] += '.pth' in str(filepath)  # a checkpoint, whatever its name
            if calls[0] == k:
                with open(filepath, 'wb') as f:
                    f.write(obj[:when])
                kill()
            put(self, obj, filepath)

        LocalBackend.put = partial_put
        return
    original = getattr(os, op)

    def faulty(*args, **kwargs):
        ours = op == 'fsync' or str(args[-1 if op == 'replace' else 0]).startswith(work_dir)
        calls[0] += ours
        if ours and calls[0] == k and when == 'before':
            kill()
        result = original(*args, **kwargs)
        if ours and calls[0] == k and when == 'after':
            kill()
        return result

    setattr(os, op, faulty)


def _child(work_dir, fault, resume, save_best):
    if fault is not None:
        _arm(fault, work_dir)
    _train(work_dir, find_resumable_checkpoint(work_dir) if resume else None, save_best)


# Children fork from a fresh server process: a pytest process that already ran a backward pass
# cannot fork a child that runs one ("Unable to handle autograd's threading ... fork").
_CONTEXT = multiprocessing.get_context('forkserver')
_CONTEXT.set_forkserver_preload(['torch', 'mmengine.runner', __name__])


def _run(work_dir, fault=None, resume=False, save_best=False) -> int:
    proc = _CONTEXT.Process(target=_child, args=(work_dir, fault, resume, save_best))
    proc.start()
    proc.join(120)
    if proc.is_alive():
        proc.kill()
        pytest.fail(f'training in {work_dir} hung (fault {fault})')
    return proc.exitcode


def _weights(work_dir):
    return load_checkpoint_file(osp.join(work_dir, f'iter_{MAX_ITERS}.pth'))['state_dict']


# Per save: the checkpoint's bytes, fsync + rename of the checkpoint, fsync of the folder, the
# pointer's bytes, fsync + rename of the pointer, fsync of the folder, removal of the old one.
FAULTS = [
    ('write', 1, 0), ('write', 2, 100), ('write', 2, 600),  # 2nd save: torn checkpoint file
    ('fsync', 5, 'before'),  # 2nd save, before its checkpoint is synced
    ('replace', 3, 'before'), ('replace', 3, 'after'),  # 2nd save: checkpoint rename
    ('replace', 4, 'before'), ('replace', 4, 'after'),  # 2nd save: pointer rename
    ('remove', 1, 'before'), ('remove', 1, 'after'),  # 2nd save: removal of iter_2.pth
    ('replace', 6, 'after'),  # 3rd (last) save's pointer
]


def test_kill_during_checkpoint_saves_then_resume_gives_the_same_weights(tmp_path):
    clean = str(tmp_path / 'clean')
    assert _run(clean) == 0
    expected = _weights(clean)
    assert sorted(n for n in os.listdir(clean) if n.endswith('.pth')) == ['iter_6.pth']
    for i, fault in enumerate(FAULTS):
        work_dir = str(tmp_path / f'run{i}')
        assert _run(work_dir, fault) == -signal.SIGKILL, fault
        assert not osp.exists(osp.join(work_dir, f'iter_{MAX_ITERS}.pth')) or \
            fault == ('replace', 6, 'after'), fault
        found = find_resumable_checkpoint(work_dir)
        if fault[0] != 'write' or fault[1] != 1:  # a checkpoint existed before the kill
            assert found is not None and osp.basename(found) in ('iter_2.pth', 'iter_4.pth',
                                                                 'iter_6.pth'), (fault, found)
            assert load_checkpoint_file(found)['meta']['iter'] == \
                int(osp.basename(found)[5:-4]), fault
        assert _run(work_dir, resume=True) == 0, fault
        got = _weights(work_dir)
        assert got.keys() == expected.keys()
        assert all(torch.equal(got[k], expected[k]) for k in expected), fault
        assert [n for n in os.listdir(work_dir) if n.endswith('.pth') or '.tmp' in n] == \
            ['iter_6.pth'], fault


def _save_two(tmp_path):
    work_dir = tmp_path / 'run'
    assert _run(str(work_dir)) == 0
    # keep iter_6.pth, and make an older iter_4.pth beside it
    ckpt = load_checkpoint_file(str(work_dir / 'iter_6.pth'))
    ckpt['meta']['iter'] = 4
    torch.save(ckpt, work_dir / 'iter_4.pth')
    return work_dir


def test_resume_falls_back_when_the_pointer_is_empty_missing_or_broken(tmp_path, caplog):
    work_dir = _save_two(tmp_path)
    pointer = work_dir / 'last_checkpoint'
    assert find_resumable_checkpoint(str(work_dir)) == str(work_dir / 'iter_6.pth')
    pointer.write_text('')
    assert find_resumable_checkpoint(str(work_dir)) == str(work_dir / 'iter_6.pth')
    pointer.unlink()
    assert find_resumable_checkpoint(str(work_dir)) == str(work_dir / 'iter_6.pth')
    # a torn newest file: the pointer names it, the older one is taken
    data = (work_dir / 'iter_6.pth').read_bytes()
    (work_dir / 'iter_6.pth').write_bytes(data[:len(data) // 2])
    pointer.write_text(str(work_dir / 'iter_6.pth'))
    assert find_resumable_checkpoint(str(work_dir)) == str(work_dir / 'iter_4.pth')
    # nothing loads: start from the beginning
    (work_dir / 'iter_4.pth').write_bytes(b'')
    assert find_resumable_checkpoint(str(work_dir)) is None


def test_resume_fallback_is_logged(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr('umg_mm.utils.checkpoint_files.print_log',
                        lambda msg, **kwargs: logged.append((msg, kwargs.get('level'))))
    work_dir = _save_two(tmp_path)
    (work_dir / 'last_checkpoint').write_text('')
    find_resumable_checkpoint(str(work_dir))
    [(message, level)] = logged
    assert message == (f'resume: {work_dir}/last_checkpoint is empty; resuming from '
                       f'{work_dir}/iter_6.pth, the newest checkpoint that loads')
    assert level == logging.WARNING


# With save_best, the saves of each validation step (every 2 iterations) are: iter_N.pth, then
# best_steps_iter_N.pth, then iter_N.pth again (now recording the new best); the 5th file written
# is the best checkpoint of iteration 4, whose save mmengine starts by removing iteration 2's best;
# the 8th rename puts it in place; the 2nd removal (after iter_2.pth's) is iteration 2's best.
BEST_FAULTS = [('write', 5, 0), ('write', 5, 300), ('replace', 8, 'before'),
               ('replace', 8, 'after'), ('remove', 2, 'before')]


@pytest.mark.parametrize('fault', BEST_FAULTS, ids=[f'{op}{k}-{when}' for op, k, when in BEST_FAULTS])
def test_kill_during_best_checkpoint_save_keeps_the_previous_best(tmp_path, fault):
    clean = str(tmp_path / 'clean')
    assert _run(clean, save_best=True) == 0
    assert sorted(n for n in os.listdir(clean) if n.endswith('.pth')) == \
        ['best_steps_iter_6.pth', 'iter_6.pth']
    work_dir = str(tmp_path / 'killed')
    assert _run(work_dir, fault, save_best=True) == -signal.SIGKILL
    bests = sorted(n for n in os.listdir(work_dir) if n.startswith('best_') and
                   n.endswith('.pth'))
    assert bests and bests[0] == 'best_steps_iter_2.pth' or bests == ['best_steps_iter_4.pth']
    for name in bests:  # whatever carries a final name is complete
        assert load_checkpoint_file(osp.join(work_dir, name))['meta']['iter'] in (2, 4)
    assert _run(work_dir, resume=True, save_best=True) == 0
    assert sorted(n for n in os.listdir(work_dir) if n.endswith('.pth') or '.tmp' in n) == \
        ['best_steps_iter_6.pth', 'iter_6.pth']
    got, expected = _weights(work_dir), _weights(clean)
    assert all(torch.equal(got[k], expected[k]) for k in expected)
