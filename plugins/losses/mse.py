"""Rate + lambda * 255^2 * MSE, as in the reference WACNN training script."""

import torch.nn as nn
import torch.nn.functional as F

import sclc
from sclc_plugins.losses.rate import batch_pixels, bits_per_pixel, psnr_from_mse


class RateDistortionMSE(nn.Module):
    def __init__(self, lmbda: float):
        super().__init__()
        self.lmbda = lmbda

    def forward(self, output: dict, target, text_mask=None) -> dict:
        bpp = bits_per_pixel(output["likelihoods"], batch_pixels(target))
        mse = F.mse_loss(output["x_hat"], target)
        return {"loss": self.lmbda * 255**2 * mse + bpp, "bpp": bpp, "distortion": mse,
                "psnr": psnr_from_mse(mse.detach())}


@sclc.hookimpl
def sclc_register_losses(register):
    register("mse", lambda params, lmbda: RateDistortionMSE(lmbda),
             summary="R + lambda * 255^2 * MSE", reference="paper eq. 8")
