"""Training shows its health: rate split, collapse warning, blank crops redrawn, time budget."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sclc.data.stream import crop_sample, luma_std
from sclc.spec import load_spec
from sclc.train.watch import HyperpriorHealthHook, TimeBudgetHook
from sclc.train.metric import CodecMetric
from sclc.train.runner import build_runner

from conftest import TINY_SPEC, write

SPEC = TINY_SPEC.format(name="health", seed=0) + """[train]
crop = 64
batch_size = 2
val_crop = 64
val_images = 2
log_interval = 1
synthetic_images = 20
device = "cpu"
max_iters = 50
val_interval = 1000
checkpoint_interval = 1000
"""


def test_blank_crops_are_drawn_again():
    rgb = np.full((256, 256, 3), 255, np.uint8)
    rgb[:, 200:] = np.random.default_rng(0).integers(0, 255, (256, 56, 3))  # content only on the right
    stds_off = [luma_std(_crop(rgb, seed, 0.0)) for seed in range(40)]
    stds_on = [luma_std(_crop(rgb, seed, 2.0)) for seed in range(40)]
    assert sum(s < 2 for s in stds_off) > 10
    assert sum(s < 2 for s in stds_on) < sum(s < 2 for s in stds_off) / 4


def _crop(rgb, seed, min_std):
    sample = crop_sample(rgb, None, 64, np.random.default_rng(seed), flip=False, min_std=min_std)
    return (sample["inputs"].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def test_validation_metrics_split_the_rate_and_group_by_quality():
    rows = [{"psnr": 20.0, "loss": 1.0, "bpp_y": 0.4, "bpp_z": 0.1, "bpp": 0.5, "text_psnr": None, "q": 0.0},
            {"psnr": 30.0, "loss": 1.0, "bpp_y": 0.8, "bpp_z": 0.2, "bpp": 1.0, "text_psnr": 25.0, "q": 1.0}]
    metrics = CodecMetric().compute_metrics(rows)
    assert metrics["bpp"] == 0.75 and metrics["bpp_z"] == pytest.approx(0.15) and metrics["text_psnr"] == 25.0
    assert metrics["psnr@q0"] == 20.0 and metrics["psnr@q1"] == 30.0 and metrics["bpp@q1"] == 1.0


class _Logger:
    def __init__(self):
        self.warnings, self.infos = [], []

    def warning(self, message):
        self.warnings.append(message)

    def info(self, message):
        self.infos.append(message)


def test_collapse_warning_fires_only_when_z_carries_almost_nothing():
    runner = SimpleNamespace(logger=_Logger())
    hook = HyperpriorHealthHook()
    hook.after_val_epoch(runner, {"val/bpp": 0.5, "val/bpp_z": 0.02})
    assert runner.logger.warnings == []
    hook.after_val_epoch(runner, {"val/bpp": 0.5, "val/bpp_z": 0.0004})
    assert len(runner.logger.warnings) == 1 and "HYPERPRIOR COLLAPSE" in runner.logger.warnings[0]


def test_training_logs_the_rate_split_and_the_time_budget_ends_the_run_with_a_checkpoint(tmp_path):
    spec = load_spec(write(tmp_path, SPEC), ["train.max_minutes=0.0001"])
    runner = build_runner(spec, tmp_path / "run")
    runner.train()
    assert runner.iter < 50  # stopped by the budget, not by max_iters
    assert (tmp_path / "run" / f"iter_{runner.iter}.pth").exists()
    scalars = runner.message_hub.log_scalars
    for key in ("train/bpp_y", "train/bpp_z", "train/distortion_term", "train/bpp"):
        assert key in scalars, key
    bpp = scalars["train/bpp"].current()
    assert abs(scalars["train/bpp_y"].current() + scalars["train/bpp_z"].current() - bpp) < 1e-4 * max(bpp, 1)


def test_time_budget_of_zero_never_stops():
    hook = TimeBudgetHook(0)
    hook.before_train(None)
    loop = SimpleNamespace(_max_iters=10)
    hook.after_train_iter(SimpleNamespace(train_loop=loop, iter=3, logger=_Logger()), 0)
    assert loop._max_iters == 10


def test_validation_measures_every_image_at_every_quality_level():
    from sclc.data.stream import VAL_LEVELS, FixedCrops, SyntheticSource
    from sclc.quality import VariableRateSpec

    val = FixedCrops(SyntheticSource(32, 10, seed=0), 32, 2, rate=VariableRateSpec())
    assert len(val) == 2 * len(VAL_LEVELS)
    assert [float(val[i]["qmap"].mean()) for i in range(3)] == list(VAL_LEVELS)
    assert torch.equal(val[0]["inputs"], val[2]["inputs"]) and not torch.equal(val[0]["inputs"], val[3]["inputs"])
