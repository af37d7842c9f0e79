"""Quality gains: per-channel scaling of the latent by a quality level (Cui et al., CVPR 2021).

The encoder multiplies y by a gain vector before quantisation and the decoder multiplies y_hat
by an inverse gain vector, so the level moves the quantisation step of every channel: the lever
that makes rate follow quality from the first step of training, instead of waiting for the
conditioning blocks to learn it. Gains are stored at ``levels`` anchors in [0, 1] and
interpolated log-linearly between them (Cui's continuous rate adaptation).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn


def initial_span(lmbda_ratio: float) -> float:
    """Starting step-size span for a lambda range of ``lmbda_ratio`` (max / min): for MSE the best
    quantisation step scales like 1/sqrt(lambda). The zoo's 812x range starts at 28x; a fixed 7.4x
    (right for 54x) left round 9's models at a 3x bpp span until their gains were stretched."""
    if lmbda_ratio <= 1:
        raise ValueError(f"lambda range ratio {lmbda_ratio:g} must exceed 1")
    return math.sqrt(lmbda_ratio)


INITIAL_SPAN = initial_span(54.0)  # without a known range: the ratio of Song et al.'s 0.001 .. 0.054


class QualityGain(nn.Module):
    def __init__(self, channels: int, levels: int = 8, span: float = INITIAL_SPAN):
        super().__init__()
        if levels < 2:
            raise ValueError(f"quality_gains = {levels}: need at least 2 levels")
        # Low quality -> small gain -> coarse steps. Symmetric around level 0.5, where the gain is 1,
        # so a model trained without gains starts unchanged at the middle quality.
        start = torch.linspace(-math.log(span) / 2, math.log(span) / 2, levels)[:, None].repeat(1, channels)
        self.log_gain = nn.Parameter(start.clone())
        self.log_inverse_gain = nn.Parameter(-start.clone())

    def _at(self, table: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """(B,) levels in [0, 1] -> (B, C, 1, 1) gains."""
        position = level.to(table.device, table.dtype).clamp(0, 1) * (table.shape[0] - 1)
        lower = position.floor().long().clamp(max=table.shape[0] - 2)
        t = (position - lower)[:, None]
        return torch.exp(table[lower] * (1 - t) + table[lower + 1] * t)[:, :, None, None]

    def encode(self, y: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        return y * self._at(self.log_gain, level)

    def decode(self, y_hat: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        return y_hat * self._at(self.log_inverse_gain, level)


# A coded level is one unsigned 16-bit number. The encoder uses the level decoded from its own
# bytes, so both sides compute the gains from bit-identical values.
LEVEL_STEPS = 65535


def level_to_bytes(level: torch.Tensor) -> bytes:
    return int(round(float(level.clamp(0, 1)) * LEVEL_STEPS)).to_bytes(2, "big")


def level_from_bytes(data: bytes) -> torch.Tensor:
    if len(data) < 2:
        raise ValueError("the quality level string is shorter than 2 bytes")
    return torch.tensor([int.from_bytes(data[:2], "big") / LEVEL_STEPS])
