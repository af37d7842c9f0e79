"""Rate + lambda * 255^2 * MSE, as in the reference WACNN training script."""

import torch.nn as nn
import torch.nn.functional as F

import sclc
from sclc_plugins.losses.rate import rd_result, weighted_squared_error


class RateDistortionMSE(nn.Module):
    def __init__(self, lmbda: float):
        super().__init__()
        self.lmbda = lmbda

    def forward(self, output: dict, target, text_mask=None, lmbda=None) -> dict:
        """``lmbda``: a per-pixel lambda map (variable rate) instead of the fixed lambda."""
        x_hat = output["x_hat"]
        term = weighted_squared_error(x_hat, target, self.lmbda if lmbda is None else lmbda)
        return rd_result(output, target, term, F.mse_loss(x_hat, target))


@sclc.hookimpl
def sclc_register_losses(register):
    register("mse", lambda params, lmbda: RateDistortionMSE(lmbda),
             summary="R + lambda * 255^2 * MSE", reference="paper eq. 8")
