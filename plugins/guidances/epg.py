"""External prior guidance (EPG), paper eq. 6: g' = (M + e) * g / (e + 1).

g is the structural prior map and M the binary text mask: on text (M = 1) g passes unchanged,
elsewhere it is scaled by e / (e + 1), so the prior stresses text and still carries the structure
around it.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn

import sclc
from sclc.schema import above


@dataclass(frozen=True)
class EPGParams:
    epsilon: float = 1.0  # the paper leaves e unstated; 1.0 halves the prior outside text

    def __post_init__(self):
        above(self, 0, "epsilon")


def epg(structure: torch.Tensor, text_mask: torch.Tensor, epsilon: float) -> torch.Tensor:
    return (text_mask + epsilon) * structure / (epsilon + 1)


class EPG(nn.Module):
    # epsilon is a plain attribute, not a buffer: it stays out of the state dict (and model ids).
    def __init__(self, params: EPGParams = EPGParams()):
        super().__init__()
        self.epsilon = params.epsilon

    def forward(self, structure: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        return epg(structure, text_mask, self.epsilon)

    def extra_repr(self) -> str:
        return f"epsilon={self.epsilon}"


@sclc.hookimpl
def sclc_register_guidances(register):
    register("epg", lambda params: EPG(params), params=EPGParams,
             summary="g' = (M + e) g / (e + 1): g kept on text, scaled by e / (e + 1) elsewhere",
             reference="paper eq. 6")
