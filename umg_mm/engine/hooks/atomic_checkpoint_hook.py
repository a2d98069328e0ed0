"""``AtomicCheckpointHook``: mmengine's ``CheckpointHook`` whose files survive a kill at any moment.

mmengine 0.10.7's hook removes the oldest checkpoint (``max_keep_ckpts``) before the new one is
written, writes the new one in place, and truncates and rewrites the ``last_checkpoint`` pointer:
a run killed during a save can be left with no complete checkpoint, or an empty pointer. This hook
saves each checkpoint in this order instead:

1. the checkpoint is written under a temporary name (``iter_8.pth.tmp``);
2. it is synced to the disk and renamed into place (``iter_8.pth``), atomically;
3. ``last_checkpoint`` is replaced atomically by a pointer to it;
4. only then are the checkpoints beyond ``max_keep_ckpts`` removed.

A kill before step 2 leaves the previous checkpoint and pointer untouched; after it, the pointer
names the previous or the new checkpoint, both complete. The best checkpoint (``save_best``) is
saved the same way: the new ``best_*`` file under a temporary name renamed into place, and the
previous best removed only after that (mmengine removes it first). A leftover temporary file is removed
when training starts again. ``tools/train.py --resume`` falls back to the newest checkpoint that
loads when the pointer is missing, empty or broken
(:func:`umg_mm.utils.checkpoint_files.find_resumable_checkpoint`).
"""
import os
import os.path as osp
import re

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from umg_mm.registry import HOOKS
from umg_mm.utils.atomic_io import remove_stale_temporaries, replace_synced, write_text_atomic

TMP_SUFFIX = '.tmp'


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) with atomic saves and removals after the save.

    Checkpoints in remote storage (``backend_args`` for a non-local backend) are saved as
    mmengine does it: object stores have no rename.
    """

    def before_train(self, runner) -> None:
        """Set up as mmengine does, then finish what a killed save left undone: remove its
        temporary file and, on resuming, the checkpoints older than the kept ones."""
        super().before_train(runner)
        if not (is_main_process() and self._is_local() and osp.isdir(self.out_dir)):
            return
        for path in remove_stale_temporaries(osp.join(runner.work_dir, 'last_checkpoint')):
            runner.logger.info(f'removed {path}, left by a save that did not finish')
        name = re.compile(re.escape(self.filename_tmpl).replace(r'\{\}', r'(\d+)') +
                          f'({re.escape(TMP_SUFFIX)})?$')
        kept = list(self.keep_ckpt_ids) if self.max_keep_ckpts > 0 else []
        # mmengine keeps one best checkpoint: on resuming, another one is a killed save's orphan
        # (the previous best not yet removed, or one saved at or after the resumed step)
        best = re.compile(r'best_.+_' + name.pattern)
        done = runner.epoch if self.by_epoch else runner.iter
        recorded = {getattr(self, 'best_ckpt_path', None),
                    *getattr(self, 'best_ckpt_path_dict', {}).values()} - {None}
        for file in sorted(os.listdir(self.out_dir)):
            match, path = name.match(file), osp.join(self.out_dir, file)
            orphan = best.match(file)
            if done > 0 and orphan and path not in recorded and \
                    (recorded or int(orphan.group(1)) >= done):
                runner.logger.info(f'removing {path}: a best checkpoint left by a save that did '
                                   f'not finish (resumed at {done})')
                os.remove(path)
                continue
            if (match.group(2) is not None if match else
                    file.startswith('best_') and file.endswith(TMP_SUFFIX)):
                runner.logger.info(f'removing {path}, left by a save that did not finish')
                os.remove(path)
            elif match and kept and int(match.group(1)) < kept[0]:
                runner.logger.info(f'removing {path}: older than the kept checkpoints '
                                   f'(max_keep_ckpts={self.max_keep_ckpts}), its removal was '
                                   f'interrupted')
                os.remove(path)

    def _is_local(self) -> bool:
        return isinstance(self.file_backend, LocalBackend)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self._is_local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = []
        # the kept ids are updated before saving, so that the checkpoint records itself in them
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, ckpt_filename + TMP_SUFFIX, self.file_client_args,
            save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
            meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        replace_synced(self.last_ckpt + TMP_SUFFIX, self.last_ckpt)
        write_text_atomic(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old_step in outdated:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """Save the best checkpoint as mmengine does, with the new file written under a temporary
        name and renamed into place, and every removal mmengine asks for done after that."""
        if not (self.save_best and self._is_local()):  # mmengine calls it after every validation
            return super()._save_best_checkpoint(runner, metrics)
        removals, save = [], runner.save_checkpoint

        def save_renamed(out_dir, filename, *args, **kwargs):
            if not filename.startswith('best_'):
                return save(out_dir, filename, *args, **kwargs)
            save(out_dir, filename + TMP_SUFFIX, *args, **kwargs)
            if is_main_process():
                replace_synced(osp.join(out_dir, filename + TMP_SUFFIX),
                               osp.join(out_dir, filename))

        # instance attributes shadow the methods for this call only
        self.file_backend.remove, runner.save_checkpoint = removals.append, save_renamed
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            del self.file_backend.remove, runner.save_checkpoint
        current = {getattr(self, 'best_ckpt_path', None),
                   *getattr(self, 'best_ckpt_path_dict', {}).values()}
        for path in removals:
            if path not in current and osp.isfile(path):
                os.remove(path)
