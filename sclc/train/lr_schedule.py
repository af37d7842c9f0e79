"""The learning-rate schedule: the reference's ReduceLROnPlateau, by validation round."""

from __future__ import annotations

from mmengine.hooks import Hook


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
