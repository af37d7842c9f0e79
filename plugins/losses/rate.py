"""Shared pieces of the rate-distortion losses."""

import math

import torch

from sclc.eval.metrics import psnr_from_mse


def rate_terms(likelihoods: dict, num_pixels: int) -> dict:
    """Total ``bpp`` and one ``bpp_<name>`` per likelihood tensor (y, z, ...): the one owner of
    likelihoods -> bits, so training logs show how the rate splits."""
    parts = {f"bpp_{name}": -torch.log(lik).sum() / (math.log(2) * num_pixels) for name, lik in likelihoods.items()}
    return {"bpp": sum(parts.values()), **parts}


def batch_pixels(target: torch.Tensor) -> int:
    n, _, h, w = target.shape
    return n * h * w


def weighted_squared_error(x_hat: torch.Tensor, target: torch.Tensor, weight) -> torch.Tensor:
    """255^2 * mean(weight * (x_hat - x)^2); ``weight``: lambda, or a per-pixel (B,1,H,W) map of it."""
    return 255**2 * (weight * (x_hat - target) ** 2).mean()


def rd_result(output: dict, target: torch.Tensor, distortion_term: torch.Tensor, distortion: torch.Tensor) -> dict:
    """loss = rate + distortion term, with everything training logs (rate split, both terms, PSNR)."""
    rate = rate_terms(output["likelihoods"], batch_pixels(target))
    mse = torch.mean((output["x_hat"].detach() - target) ** 2)
    return {"loss": distortion_term + rate["bpp"], **rate, "distortion": distortion,
            "distortion_term": distortion_term.detach(), "psnr": psnr_from_mse(mse)}
