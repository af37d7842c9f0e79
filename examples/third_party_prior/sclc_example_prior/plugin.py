"""A third-party structural prior: local contrast |x - box_blur(x)| on luma.

Everything a plugin needs: a hook implementation that calls ``register`` with a name, a factory
and (optionally) a dataclass of parameters that specs may set.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

import sclc


@dataclass(frozen=True)
class LocalContrastParams:
    radius: int = 2

    def __post_init__(self):
        if self.radius < 1:
            raise ValueError(f"radius = {self.radius} must be >= 1")


class LocalContrast(nn.Module):
    def __init__(self, params: LocalContrastParams):
        super().__init__()
        self.radius = params.radius

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean(dim=1, keepdim=True)
        k = 2 * self.radius + 1
        blurred = F.avg_pool2d(F.pad(y, (self.radius,) * 4, mode="replicate"), k, stride=1)
        return (y - blurred).abs()


@sclc.hookimpl
def sclc_register_structural_priors(register):
    register("local_contrast", lambda params: LocalContrast(params), params=LocalContrastParams,
             summary="|luma - box blur| (example third-party plugin)", reference="examples/third_party_prior")
