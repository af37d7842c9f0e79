"""Watching a run: a collapsed hyperprior is reported, a time budget ends training cleanly."""

from __future__ import annotations

import time

from mmengine.hooks import Hook

# z below this share of the rate means the hyperprior carries (almost) nothing: h_s then sees one
# constant map and the decoder prior recovered from z_hat is the same for every image.
COLLAPSE_SHARE = 0.01


class HyperpriorHealthHook(Hook):
    """After each validation round, warn loudly when the hyperprior has collapsed."""

    priority = "LOW"

    def after_val_epoch(self, runner, metrics=None) -> None:
        if not metrics or "val/bpp_z" not in metrics or not metrics.get("val/bpp"):
            return
        share = metrics["val/bpp_z"] / metrics["val/bpp"]
        if share < COLLAPSE_SHARE:
            runner.logger.warning(
                f"HYPERPRIOR COLLAPSE: z carries {metrics['val/bpp_z']:.4f} bpp, {100 * share:.2f} % of the rate "
                f"(< {100 * COLLAPSE_SHARE:g} %): h_s sees a near-constant z_hat and the decoder prior is inert. "
                f"Train with backbone.z_train = \"noise\" and a train.hyper_rate_warmup, or longer before judging.")


class TimeBudgetHook(Hook):
    """End training cleanly after ``minutes`` of this process's training (0 = no limit): the
    current iteration becomes the last, so the checkpoint hook saves it and validation runs. A
    resumed run gets a fresh budget, so "train 2 more hours" is one flag."""

    priority = "NORMAL"  # before the checkpoint hook (VERY_LOW) looks for the last iteration

    def __init__(self, minutes: float):
        self.minutes, self.start = minutes, None

    def before_train(self, runner) -> None:
        self.start = time.monotonic()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.minutes and time.monotonic() - self.start > 60 * self.minutes:
            if runner.train_loop._max_iters > runner.iter + 1:
                runner.logger.info(f"time budget of {self.minutes:g} min spent: stopping after iteration {runner.iter + 1}")
                runner.train_loop._max_iters = runner.iter + 1
