"""SFT & CB (Song et al., ICCV 2021): spatial feature transform plus SFT residual blocks.

SFT: a shared conv on the condition, then gamma/beta heads; ``out = x * (1 + gamma) + beta``.
The conditional block stacks an SFT layer and ``res_blocks`` SFT residual blocks
(SFT -> conv -> ReLU -> SFT -> conv, plus skip). Heads and the last conv of each residual
branch start at zero, so a new block is the identity.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn

import sclc
from sclc.schema import at_least


@dataclass(frozen=True)
class SFTParams:
    hidden: int = 64
    res_blocks: int = 1

    def __post_init__(self):
        at_least(self, 1, "hidden")
        at_least(self, 0, "res_blocks")


class SFT(nn.Module):
    def __init__(self, channels: int, prior_channels: int, hidden: int):
        super().__init__()
        self.shared = nn.Sequential(nn.Conv2d(prior_channels, hidden, 3, padding=1), nn.LeakyReLU(0.1))
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)
        for head in (self.gamma, self.beta):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, x: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        shared = self.shared(prior)
        return x * (1 + self.gamma(shared)) + self.beta(shared)


class SFTResBlock(nn.Module):
    def __init__(self, channels: int, prior_channels: int, hidden: int):
        super().__init__()
        self.sft1 = SFT(channels, prior_channels, hidden)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.sft2 = SFT(channels, prior_channels, hidden)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x, prior):
        out = torch.relu(self.conv1(self.sft1(x, prior)))
        return x + self.conv2(self.sft2(out, prior))


class SFTConditionalBlock(nn.Module):
    def __init__(self, channels: int, prior_channels: int, params: SFTParams = SFTParams()):
        super().__init__()
        self.sft = SFT(channels, prior_channels, params.hidden)
        self.res = nn.ModuleList(SFTResBlock(channels, prior_channels, params.hidden)
                                 for _ in range(params.res_blocks))

    def forward(self, x, prior):
        x = self.sft(x, prior)
        for block in self.res:
            x = block(x, prior)
        return x


@sclc.hookimpl
def sclc_register_blocks(register):
    register("sft_cb", lambda params, channels, prior_channels: SFTConditionalBlock(channels, prior_channels, params),
             params=SFTParams, summary="Spatial feature transform with SFT residual (conditional) blocks",
             reference="Song et al., ICCV 2021; paper Table 2")
