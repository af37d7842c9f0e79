"""Constant text masks: the 'without text position prior' ablation (paper Table 4).

``none`` marks no pixel as text (WMSE weight 0.9 everywhere, EPG scales g by e/(e+1));
``ones`` marks every pixel as text (EPG leaves g unchanged, WMSE weight 1.1)."""

import torch
import torch.nn as nn

import sclc


class ConstantMask(nn.Module):
    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x[:, :1], self.value)


@sclc.hookimpl
def sclc_register_text_priors(register):
    register("none", lambda params: ConstantMask(0.0), summary="No text anywhere (mask of zeros)",
             reference="paper Table 4")
    register("ones", lambda params: ConstantMask(1.0), summary="Text everywhere (mask of ones)",
             reference="paper Table 4")
