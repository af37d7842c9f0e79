"""Sobel gradient-magnitude structural prior."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import sclc
from sclc_plugins.structural_priors.luma import luma

_GX = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))


class Sobel(nn.Module):
    def __init__(self):
        super().__init__()
        gx = torch.tensor(_GX)
        self.register_buffer("kernels", torch.stack([gx, gx.t()]).unsqueeze(1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = F.conv2d(F.pad(luma(x), (1, 1, 1, 1), mode="replicate"), self.kernels.to(x.dtype))
        return g.pow(2).sum(dim=1, keepdim=True).sqrt()


@sclc.hookimpl
def sclc_register_structural_priors(register):
    register("sobel", lambda params: Sobel(), summary="Sobel gradient magnitude",
             reference="alternative structural prior (not in the paper)")
