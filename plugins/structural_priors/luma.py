"""Shared helper for gradient priors: they act on luma, not on each colour channel."""

import torch

_BT601 = (0.299, 0.587, 0.114)


def luma(x: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) RGB -> (B,1,H,W) BT.601 luma; one-channel input passes through."""
    if x.shape[1] == 1:
        return x
    weights = torch.tensor(_BT601, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(dim=1, keepdim=True)
