"""Image quality metrics on 8-bit RGB arrays (H, W, 3), and PSNR of a [0, 1] tensor's MSE."""

from __future__ import annotations

import math

import numpy as np
import torch
from pytorch_msssim import ms_ssim as _ms_ssim

MS_SSIM_MIN_SIDE = 161  # five scales of an 11-tap window need more than (11 - 1) * 2**4 pixels


def mse(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float | None:
    diff = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if mask is None:
        return float(diff.mean())
    weight = np.broadcast_to(mask.astype(bool)[..., None], diff.shape)
    if not weight.any():
        return None
    return float(diff[weight].mean())


def psnr_from_mse(mse: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of images in [0, 1], from their mean squared error (floored at 100 dB)."""
    return -10 * torch.log10(mse.clamp_min(1e-10))


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float | None:
    """PSNR over all RGB samples (or those under ``mask``); inf for identical images."""
    error = mse(a, b, mask)
    if error is None:
        return None
    return math.inf if error == 0 else 10 * math.log10(255.0**2 / error)


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float | None:
    if min(a.shape[:2]) < MS_SSIM_MIN_SIDE:
        return None
    to_tensor = lambda x: torch.from_numpy(np.array(x)).permute(2, 0, 1)[None].double()  # noqa: E731
    return float(_ms_ssim(to_tensor(a), to_tensor(b), data_range=255.0))


def bits_per_pixel(num_bytes: int, height: int, width: int) -> float:
    return 8.0 * num_bytes / (height * width)
