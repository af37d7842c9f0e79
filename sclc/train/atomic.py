"""Training checkpoints that a kill or a full disk cannot leave unreadable.

mmengine's CheckpointHook writes a checkpoint by truncating its file and writing into it, deletes
the oldest kept checkpoint *before* saving the next one (with ``max_keep_ckpts = 1`` a kill in
between leaves none), and rewrites ``last_checkpoint`` in place. Here the runner writes each
checkpoint under a temporary name that is then renamed over the final one, ``last_checkpoint``
is replaced the same way, and an old checkpoint is deleted only once the new one is in place.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook

from sclc.imageio import atomic_write


class AtomicCheckpointHook(CheckpointHook):
    def _save_checkpoint_with_step(self, runner, step, meta):
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)
        retired = None
        if self.max_keep_ckpts > 0 and (not self.keep_ckpt_ids or self.keep_ckpt_ids[-1] != step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                retired = self.keep_ckpt_ids[0]  # the deque's maxlen drops it on append
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info("last_ckpt", self.last_ckpt)
        temporary = f".{filename}.{os.getpid()}.tmp"
        try:
            runner.save_checkpoint(self.out_dir, temporary, self.file_client_args, save_optimizer=self.save_optimizer,
                                   save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
                                   backend_args=self.backend_args, **self.args)
            if not is_main_process():
                return
            _durable_rename(Path(self.out_dir) / temporary, Path(self.last_ckpt))
        except BaseException:
            (Path(self.out_dir) / temporary).unlink(missing_ok=True)
            raise
        atomic_write(Path(runner.work_dir) / "last_checkpoint", str(self.last_ckpt).encode())
        if retired is not None:
            Path(self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(retired))).unlink(missing_ok=True)


def _durable_rename(source: Path, target: Path) -> None:
    """Flush the file to disk before renaming it, so the name never points at unwritten data."""
    with open(source, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(source, target)
