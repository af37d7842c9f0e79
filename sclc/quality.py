"""Variable rate: a per-pixel quality map q in [0, 1] and the lambda it stands for.

One model serves every rate (Song et al., ICCV 2021; the paper's future work). The map is
per-sample input like the text mask: the encoder sees it through the prior path, the decoder
recovers what it needs from z_hat, and nothing about it is transmitted.

    lambda(q) = lmbda_min * (lmbda_max / lmbda_min) ** q      (Song: 1e-3 * exp(4.382 q))

``--quality`` is a user's scale, the same for every model: quality 1..8 (fractions too) is
lambda 0.0001 .. 0.05, log-spaced; each model accepts the qualities its training range covers.
The low end lies a decade below the paper's lowest lambda (0.0018) because a model's rate moves
slowly with lambda there: over 0.0018 .. 0.05 the shipped models spanned only 2.3x in bpp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

QUALITY_MIN, QUALITY_MAX = 1.0, 8.0
LMBDA_AT_QUALITY_MIN, LMBDA_AT_QUALITY_MAX = 0.0001, 0.05  # a decade below the paper's lowest .. beyond its highest
DEFAULT_QUALITY = 6.0  # lambda 0.0085 (the paper's 0.0067 .. 0.013); else the nearest quality a model accepts


@dataclass(frozen=True)
class VariableRateSpec:
    """The ``[variable_rate]`` spec table: the lambda range the quality map spans in training."""

    lmbda_min: float = 0.00008
    lmbda_max: float = 0.065
    text_boost: float = 0.25  # training maps: q raised by up to this much on the text mask

    def __post_init__(self):
        if not 0 < self.lmbda_min < self.lmbda_max:
            raise ValueError(f"need 0 < lmbda_min < lmbda_max (got {self.lmbda_min}, {self.lmbda_max})")
        if not 0 <= self.text_boost <= 1:
            raise ValueError(f"text_boost = {self.text_boost} must be in [0, 1]")

    def lmbda(self, q: torch.Tensor) -> torch.Tensor:
        """Per-pixel lambda of a quality map: the one function every loss uses."""
        return self.lmbda_min * torch.pow(self.lmbda_max / self.lmbda_min, q)

    def q_of_lmbda(self, lmbda: float) -> float:
        return math.log(lmbda / self.lmbda_min) / math.log(self.lmbda_max / self.lmbda_min)

    def quality_range(self) -> tuple[float, float]:
        """The user qualities whose lambda lies inside this model's training range."""
        low = max(QUALITY_MIN, quality_of_lmbda(self.lmbda_min))
        high = min(QUALITY_MAX, quality_of_lmbda(self.lmbda_max))
        return round(low, 3), round(high, 3)

    def default_quality(self) -> float:
        """What this model codes at when no quality is asked: DEFAULT_QUALITY moved into its range."""
        low, high = self.quality_range()
        return min(max(DEFAULT_QUALITY, low), high)

    def q_of_quality(self, quality: float) -> float:
        low, high = self.quality_range()
        if low > high:
            raise ValueError(f"this model's lambda range {self.lmbda_min:g} .. {self.lmbda_max:g} lies outside "
                             f"qualities {QUALITY_MIN:g} .. {QUALITY_MAX:g} (lambda {LMBDA_AT_QUALITY_MIN:g} .. "
                             f"{LMBDA_AT_QUALITY_MAX:g}): it has no --quality; give it a --quality-map")
        if not low <= quality <= high:
            raise ValueError(f"quality {quality:g} is outside this model's range {low:g} .. {high:g}")
        return min(max(self.q_of_lmbda(lmbda_of_quality(quality)), 0.0), 1.0)


def lmbda_of_quality(quality: float) -> float:
    t = (quality - QUALITY_MIN) / (QUALITY_MAX - QUALITY_MIN)
    return LMBDA_AT_QUALITY_MIN * (LMBDA_AT_QUALITY_MAX / LMBDA_AT_QUALITY_MIN) ** t


def quality_of_lmbda(lmbda: float) -> float:
    t = math.log(lmbda / LMBDA_AT_QUALITY_MIN) / math.log(LMBDA_AT_QUALITY_MAX / LMBDA_AT_QUALITY_MIN)
    return QUALITY_MIN + t * (QUALITY_MAX - QUALITY_MIN)


def quality_map(rate: VariableRateSpec, shape: tuple[int, int], quality: float,
                text_mask: torch.Tensor | None = None, text_quality: float = 0.0) -> torch.Tensor:
    """A (1,1,H,W) map for ``quality`` everywhere, ``text_quality`` qualities higher on the text mask."""
    q = torch.full((1, 1, *shape), rate.q_of_quality(quality))
    if text_quality and text_mask is not None:
        boosted = rate.q_of_quality(min(quality + text_quality, rate.quality_range()[1]))
        q = torch.where(text_mask.to(q.dtype) > 0, torch.tensor(boosted), q)
    return q
