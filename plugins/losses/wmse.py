"""Text-weighted MSE (paper eq. 10-11): per-pixel lambda_i = (M_i / 5 + 0.9) * lambda."""

from dataclasses import dataclass

import torch
import torch.nn as nn

import sclc
from sclc.schema import above, at_least
from sclc_plugins.losses.rate import rd_result, weighted_squared_error


@dataclass(frozen=True)
class WMSEParams:
    text_gain: float = 0.2  # slope of lambda_i in M_i (paper: 1/5)
    base: float = 0.9  # lambda_i / lambda where M_i = 0 (paper: 0.9)

    def __post_init__(self):
        above(self, 0, "base")
        at_least(self, 0, "text_gain")


class RateDistortionWMSE(nn.Module):
    def __init__(self, lmbda: float, params: WMSEParams = WMSEParams()):
        super().__init__()
        self.lmbda, self.params = lmbda, params

    def weights(self, text_mask: torch.Tensor) -> torch.Tensor:
        return text_mask * self.params.text_gain + self.params.base

    def forward(self, output: dict, target, text_mask=None, lmbda=None) -> dict:
        """``lmbda``: a per-pixel lambda map (variable rate) instead of the fixed lambda; the text
        weight multiplies it either way."""
        if text_mask is None:
            raise ValueError("the wmse loss needs a text mask (from the data or a text prior)")
        x_hat, text_weight = output["x_hat"], self.weights(text_mask)
        term = weighted_squared_error(x_hat, target, text_weight * (self.lmbda if lmbda is None else lmbda))
        return rd_result(output, target, term, (text_weight * (x_hat - target) ** 2).mean())


@sclc.hookimpl
def sclc_register_losses(register):
    register("wmse", lambda params, lmbda: RateDistortionWMSE(lmbda, params), params=WMSEParams,
             summary="R + 255^2 * mean((M/5 + 0.9) * lambda * (x - x_hat)^2)", reference="paper eq. 10-11")
