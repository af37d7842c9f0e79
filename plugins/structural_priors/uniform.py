"""Uniform map: the paper's 'without structural prior' ablation (Table 3, after Song et al.)."""

import torch
import torch.nn as nn

import sclc


class Uniform(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x[:, :1])


@sclc.hookimpl
def sclc_register_structural_priors(register):
    register("uniform", lambda params: Uniform(), summary="Constant map of ones (no structural prior)",
             reference="paper Table 3")
