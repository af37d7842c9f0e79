"""Laplacian structural prior, paper eq. 5: |conv(luma(x), [[1,1,1],[1,-8,1],[1,1,1]])|."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import sclc
from sclc_plugins.structural_priors.luma import luma

KERNEL = ((1.0, 1.0, 1.0), (1.0, -8.0, 1.0), (1.0, 1.0, 1.0))


class Laplacian(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("kernel", torch.tensor(KERNEL).view(1, 1, 3, 3), persistent=False)

    def response(self, x: torch.Tensor) -> torch.Tensor:
        """Signed (linear) response; replicate padding keeps constant images at exactly 0."""
        return F.conv2d(F.pad(luma(x), (1, 1, 1, 1), mode="replicate"), self.kernel.to(x.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Magnitude only: the paper drops the gradient direction.
        return self.response(x).abs()


@sclc.hookimpl
def sclc_register_structural_priors(register):
    register("laplacian", lambda params: Laplacian(), summary="Laplacian magnitude (3x3, centre -8)",
             reference="paper eq. 5")
