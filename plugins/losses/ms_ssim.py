"""Rate + lambda * (1 - MS-SSIM), with pytorch-msssim. Needs images of at least 161 px a side."""

import torch.nn as nn
import torch.nn.functional as F
from pytorch_msssim import ms_ssim

import sclc
from sclc_plugins.losses.rate import batch_pixels, bits_per_pixel, psnr_from_mse


class RateDistortionMSSSIM(nn.Module):
    def __init__(self, lmbda: float):
        super().__init__()
        self.lmbda = lmbda

    def forward(self, output: dict, target, text_mask=None) -> dict:
        x_hat = output["x_hat"]
        bpp = bits_per_pixel(output["likelihoods"], batch_pixels(target))
        distortion = 1 - ms_ssim(x_hat, target, data_range=1.0)
        return {"loss": self.lmbda * distortion + bpp, "bpp": bpp, "distortion": distortion,
                "psnr": psnr_from_mse(F.mse_loss(x_hat.detach(), target))}


@sclc.hookimpl
def sclc_register_losses(register):
    register("ms-ssim", lambda params, lmbda: RateDistortionMSSSIM(lmbda),
             summary="R + lambda * (1 - MS-SSIM) (pytorch-msssim)", reference="paper sec. 3.4 (discussed)")
