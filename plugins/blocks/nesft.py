"""SEM = FEM + NESFT (paper sec. 3.3, Fig. 2).

FEM extracts structure from the prior with a 1x1 -> 3x3 -> 1x1 stack, then two parallel 3x3 heads
give gamma and beta; NESFT applies ``gamma * F + beta`` (eq. 7). The heads start at gamma = 1,
beta = 0, so a freshly built SEM is the identity and training starts from the plain backbone.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn

import sclc
from sclc.schema import at_least


@dataclass(frozen=True)
class NESFTParams:
    hidden: int = 64  # FEM width
    slope: float = 0.1  # LeakyReLU slope between FEM convolutions

    def __post_init__(self):
        at_least(self, 1, "hidden")


class FEM(nn.Module):
    def __init__(self, prior_channels: int, channels: int, hidden: int, slope: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(prior_channels, hidden, 1), nn.LeakyReLU(slope),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.LeakyReLU(slope),
            nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(slope),
        )
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)
        for head, bias in ((self.gamma, 1.0), (self.beta, 0.0)):
            nn.init.zeros_(head.weight)
            nn.init.constant_(head.bias, bias)

    def forward(self, prior: torch.Tensor):
        shared = self.body(prior)
        return self.gamma(shared), self.beta(shared)


class NESFT(nn.Module):
    def __init__(self, channels: int, prior_channels: int, params: NESFTParams = NESFTParams()):
        super().__init__()
        self.fem = FEM(prior_channels, channels, params.hidden, params.slope)

    def forward(self, features: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.fem(prior)
        return gamma * features + beta


@sclc.hookimpl
def sclc_register_blocks(register):
    register("nesft", lambda params, channels, prior_channels: NESFT(channels, prior_channels, params),
             params=NESFTParams, summary="SEM: FEM + nonlinear-enhanced SFT (gamma * F + beta)",
             reference="paper sec. 3.3, Fig. 2, eq. 7")
