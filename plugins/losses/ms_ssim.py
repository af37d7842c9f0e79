"""Rate + lambda * (1 - MS-SSIM), with pytorch-msssim. Needs images of at least 161 px a side."""

import torch.nn as nn
from pytorch_msssim import ms_ssim

import sclc
from sclc_plugins.losses.rate import rd_result


class RateDistortionMSSSIM(nn.Module):
    def __init__(self, lmbda: float):
        super().__init__()
        self.lmbda = lmbda

    def forward(self, output: dict, target, text_mask=None, lmbda=None) -> dict:
        """``lmbda``: a per-pixel lambda map (variable rate); MS-SSIM is per image, so each image
        is weighted by its map's mean."""
        distortion = 1 - ms_ssim(output["x_hat"], target, data_range=1.0, size_average=False)
        weight = self.lmbda if lmbda is None else lmbda.flatten(1).mean(1)
        term = (weight * distortion).mean()
        return rd_result(output, target, term, distortion.mean())


@sclc.hookimpl
def sclc_register_losses(register):
    register("ms-ssim", lambda params, lmbda: RateDistortionMSSSIM(lmbda),
             summary="R + lambda * (1 - MS-SSIM) (pytorch-msssim)", reference="paper sec. 3.4 (discussed)")
