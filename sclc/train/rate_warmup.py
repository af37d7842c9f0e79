"""Hyperprior warm-up: z's bits enter the loss gradually.

At the start of training z carries nothing yet, so every bit it spends is pure cost: with z's
full rate in the loss from step 0, h_a learns to make z constant before h_s learns to use it, and
the hyperprior (with the decoder prior recovered from it) collapses for good. Counting z's bits
from 0 up to fully over a warm-up lets the hyperprior become useful first (issue "Codecs that
really compress"); after the warm-up the loss is the honest rate-distortion loss again.
"""

from __future__ import annotations

from mmengine.hooks import Hook


def hyper_rate_weight(iteration: int, warmup: int) -> float:
    return 1.0 if warmup <= 0 else min(1.0, iteration / warmup)


class HyperRateWarmupHook(Hook):
    priority = "NORMAL"

    def __init__(self, warmup: int, name: str = "z"):
        self.warmup, self.name = warmup, name

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        model = getattr(runner.model, "module", runner.model)  # DDP wraps the TrainableCodec
        weight = hyper_rate_weight(runner.iter, self.warmup)
        if weight < 1.0:
            model.rate_weights[self.name] = weight
        else:
            model.rate_weights.pop(self.name, None)
        runner.message_hub.update_scalar("train/z_rate_weight", weight)
