"""Keep the spec and the RNG state inside every training checkpoint."""

from __future__ import annotations

import random

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
