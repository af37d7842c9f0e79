"""Learning-rate schedules: the reference's ReduceLROnPlateau by validation round, and a cosine
decay that ends a run (by iteration, or over a time budget)."""

from __future__ import annotations

import math
import time

from mmengine.hooks import Hook


class CosineLRHook(Hook):
    """Cosine decay of the main learning rate from ``lr`` to ``min_lr``, reached at the last
    iteration: over ``max_iters``, or over this run's ``minutes`` when that ends first (a device
    call has minutes, not a known iteration count, and should still finish its decay). mmengine's
    CosineAnnealingLR knows only iterations. Set before each step, so the logged rate is the one
    used; by iteration it needs no state across a resume."""

    priority = "HIGHEST"  # before RuntimeInfoHook logs the rate

    def __init__(self, lr: float, min_lr: float, max_iters: int, minutes: float = 0.0):
        self.lr, self.min_lr, self.max_iters, self.minutes = lr, min_lr, max_iters, minutes
        self.start = None

    def before_train(self, runner) -> None:
        self.start = time.monotonic()

    def progress(self, iteration: int) -> float:
        done = iteration / max(1, self.max_iters - 1)
        if self.minutes:
            done = max(done, (time.monotonic() - self.start) / (60 * self.minutes))
        return min(1.0, done)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        lr = self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * self.progress(runner.iter))) / 2
        for group in runner.optim_wrapper["main"].param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)


class PlateauLRHook(Hook):
    """Multiply the main learning rate by ``factor`` when the validation loss has not improved for
    ``patience`` validation rounds (the reference's ReduceLROnPlateau; mmengine's own plateau
    scheduler works by epoch only). Its state travels in the checkpoint."""

    priority = "LOW"

    def __init__(self, factor: float, patience: int, min_lr: float, monitor: str = "val/loss"):
        self.factor, self.patience, self.min_lr, self.monitor = factor, patience, min_lr, monitor
        self.best, self.bad_rounds = float("inf"), 0

    def after_val_epoch(self, runner, metrics=None) -> None:
        if not metrics or self.monitor not in metrics:
            return
        value = float(metrics[self.monitor])
        if value < self.best * (1 - 1e-4):
            self.best, self.bad_rounds = value, 0
            return
        self.bad_rounds += 1
        if self.bad_rounds > self.patience:
            self.bad_rounds = 0
            for group in runner.optim_wrapper["main"].param_groups:
                group["lr"] = max(group["lr"] * self.factor, self.min_lr * group.get("lr_scale", 1.0))
            runner.logger.info(f"plateau: main lr -> {runner.optim_wrapper['main'].param_groups[0]['lr']:.3g}")

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint["sclc_plateau"] = {"best": self.best, "bad_rounds": self.bad_rounds}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get("sclc_plateau")
        if state:
            self.best, self.bad_rounds = float(state["best"]), int(state["bad_rounds"])
