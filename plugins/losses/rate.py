"""Shared pieces of the rate-distortion losses."""

import math

import torch


def bits_per_pixel(likelihoods: dict, num_pixels: int) -> torch.Tensor:
    total = sum(torch.log(lik).sum() for lik in likelihoods.values())
    return -total / (math.log(2) * num_pixels)


def psnr_from_mse(mse: torch.Tensor) -> torch.Tensor:
    return -10 * torch.log10(mse.clamp_min(1e-10))


def batch_pixels(target: torch.Tensor) -> int:
    n, _, h, w = target.shape
    return n * h * w
