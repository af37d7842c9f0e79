"""A full disk or a kill while mmengine saves never costs the last good checkpoint (issue #14)."""

import errno

import pytest
import torch
from mmengine.fileio.backends import LocalBackend
from mmengine.runner.checkpoint import find_latest_checkpoint

from sclc.spec import load_spec
from sclc.train.runner import build_runner

from conftest import TINY_SPEC, write

SPEC = TINY_SPEC.format(name="atomic", seed=0) + """[train]
crop = 64
batch_size = 1
val_crop = 64
val_images = 1
val_interval = 100
checkpoint_interval = 1
max_keep_checkpoints = 1
synthetic_images = 4
device = "cpu"
"""


def test_a_failed_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    real_put, saves = LocalBackend.put, []

    def put(self, obj, filepath):
        saves.append(filepath)
        if len(saves) == 3:  # the disk fills up half-way through the third checkpoint
            with open(filepath, "wb") as handle:
                handle.write(obj[: len(obj) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real_put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, "put", put)
    work = tmp_path / "run"
    runner = build_runner(load_spec(write(tmp_path, SPEC), ["train.max_iters=5"]), work)
    with pytest.raises(OSError, match="No space left"):
        runner.train()
    assert all(".tmp" in str(p) for p in saves)  # never written under the final name
    latest = find_latest_checkpoint(str(work))
    assert latest.endswith("iter_2.pth")  # max_keep_checkpoints = 1, yet iter_2 was kept
    assert torch.load(latest, weights_only=True)["meta"]["iter"] == 2
    assert sorted(p.name for p in work.iterdir() if "iter_" in p.name) == ["iter_2.pth"]  # no .tmp left
