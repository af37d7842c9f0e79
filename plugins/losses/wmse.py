"""Text-weighted MSE (paper eq. 10-11): per-pixel lambda_i = (M_i / 5 + 0.9) * lambda."""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

import sclc
from sclc_plugins.losses.rate import batch_pixels, bits_per_pixel, psnr_from_mse


@dataclass(frozen=True)
class WMSEParams:
    text_gain: float = 0.2  # slope of lambda_i in M_i (paper: 1/5)
    base: float = 0.9  # lambda_i / lambda where M_i = 0 (paper: 0.9)

    def __post_init__(self):
        if self.base <= 0 or self.text_gain < 0:
            raise ValueError("base must be > 0 and text_gain >= 0")


class RateDistortionWMSE(nn.Module):
    def __init__(self, lmbda: float, params: WMSEParams = WMSEParams()):
        super().__init__()
        self.lmbda, self.params = lmbda, params

    def weights(self, text_mask: torch.Tensor) -> torch.Tensor:
        return text_mask * self.params.text_gain + self.params.base

    def forward(self, output: dict, target, text_mask=None) -> dict:
        if text_mask is None:
            raise ValueError("the wmse loss needs a text mask (from the data or a text prior)")
        x_hat = output["x_hat"]
        bpp = bits_per_pixel(output["likelihoods"], batch_pixels(target))
        weighted = (self.weights(text_mask) * (x_hat - target) ** 2).mean()
        mse = F.mse_loss(x_hat.detach(), target)
        return {"loss": self.lmbda * 255**2 * weighted + bpp, "bpp": bpp, "distortion": weighted,
                "psnr": psnr_from_mse(mse)}


@sclc.hookimpl
def sclc_register_losses(register):
    register("wmse", lambda params, lmbda: RateDistortionWMSE(lmbda, params), params=WMSEParams,
             summary="R + 255^2 * mean((M/5 + 0.9) * lambda * (x - x_hat)^2)", reference="paper eq. 10-11")
