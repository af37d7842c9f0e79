"""Keep the spec and the RNG state inside every training checkpoint."""

from __future__ import annotations

import random
import time

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer


def _plain(value):
    """numpy -> Python, recursively, so torch's weights_only loader accepts the checkpoint."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def hub_to_plain(hub: dict) -> dict:
    """mmengine's MessageHub state holds HistoryBuffer objects (with bound methods inside):
    store them as lists instead of allow-listing ``getattr`` for the unpickler."""
    scalars = {k: {"log": _plain(b._log_history), "count": _plain(b._count_history), "max_length": b.max_length}
               for k, b in hub.get("log_scalars", {}).items()}
    return {**hub, "log_scalars": scalars, "runtime_info": _plain(dict(hub.get("runtime_info", {}))),
            "sclc_plain": True}


def hub_from_plain(hub: dict) -> dict:
    if not hub.get("sclc_plain"):
        return hub
    scalars = {k: HistoryBuffer(v["log"], v["count"], v["max_length"]) for k, v in hub["log_scalars"].items()}
    return {k: v for k, v in {**hub, "log_scalars": scalars}.items() if k != "sclc_plain"}


class SclcCheckpointHook(Hook):
    priority = "VERY_LOW"

    def __init__(self, spec_data: dict):
        self.spec_data = spec_data

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault("meta", {})["sclc_spec"] = self.spec_data
        checkpoint["meta"] = _plain(checkpoint["meta"])
        if "message_hub" in checkpoint:
            checkpoint["message_hub"] = hub_to_plain(checkpoint["message_hub"])
        version, state, gauss = random.getstate()
        checkpoint["rng"] = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python": [version, list(state), gauss],
        }

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if "message_hub" in checkpoint:
            checkpoint["message_hub"] = hub_from_plain(checkpoint["message_hub"])
        rng = checkpoint.get("rng")
        if not rng:
            return
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        version, state, gauss = rng["python"]
        random.setstate((version, tuple(state), gauss))


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
                group["lr"] = max(group["lr"] * self.factor, self.min_lr)
            runner.logger.info(f"plateau: main lr -> {runner.optim_wrapper['main'].param_groups[0]['lr']:.3g}")

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint["sclc_plateau"] = {"best": self.best, "bad_rounds": self.bad_rounds}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get("sclc_plateau")
        if state:
            self.best, self.bad_rounds = float(state["best"]), int(state["bad_rounds"])


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
