"""Training checkpoints load under torch's ``weights_only=True`` default (torch >= 2.6).

:class:`sclc.train.hooks.SclcCheckpointHook` stores mmengine's message hub as plain lists
instead of ``HistoryBuffer`` objects, so nothing needs allow-listing but mmengine's
``HistoryBuffer`` class itself, for checkpoints written before that conversion existed.
"""

from __future__ import annotations

import torch


def allow_mmengine_checkpoint_types() -> None:
    from mmengine.logging import HistoryBuffer

    torch.serialization.add_safe_globals([HistoryBuffer])
