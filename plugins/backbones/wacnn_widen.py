"""Grow a trained WACNN wider without changing what it computes (Net2Net, Chen et al., ICLR 2016).

A small model trained for hours on CPU caps its own quality (RESULTS.md: the transforms stop near
30 dB on screen content, which also caps the rate span). Widening keeps those hours: N, M, the
attention heads and the number of slices all grow by one factor, so every head keeps its width
and every slice its channels, and the old channels are a prefix of the new ones everywhere. The
hyper latent z keeps its width, so its entropy model is unchanged.

What makes the wide model compute exactly what the narrow one did:
- nothing old reads anything new: weights from new inputs into old outputs are zero;
- the new latent channels are exactly zero (the last layers that write them start at zero), so
  they round to zero and, with the new slices' means and scales at zero, cost ~1e-5 bits each;
- the new slices' mean, scale and LRP transforms end in zero layers.
New channels still learn: the decoder's first layers read the new latent channels with fresh
weights (harmless while those channels are zero), so the distortion's gradient reaches the
encoder's zeroed layers from the first step; with quality gains, the new channels start with a
finer quantisation step (``NEW_CHANNEL_GAIN``) so that they cross a rounding boundary early.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import torch
import torch.nn as nn

# Layers that write the latent y: the last convolution of g_a and the residual units inside its
# final attention module (their last 1x1 convolution). Zero rows here keep new channels at zero.
_Y_WRITERS = ("g_a.7.", *(f"g_a.8.conv_a.{i}.conv.4." for i in range(3)))
# Layers that read y_hat first in the decoder: fresh weights from its new channels (which start
# at zero) so that the gradient reaches them.
_Y_READERS = ("g_s.0.conv_a.0.conv.0.", "g_s.0.conv_b.0.qkv.")
_SLICE_TRANSFORMS = ("cc_mean_transforms", "cc_scale_transforms", "lrp_transforms")
_LINEAR = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
# Quality gains of the new latent channels start this much finer (encoder gain up, decoder gain
# down by the same factor): Adam moves the zeroed weights that write them by about the learning
# rate per step, so at the old channels' steps they took over 300 steps to reach 0.2 and never
# crossed a rounding boundary in a 1e-4 run; a finer step lets them carry bits within ~100 steps.
NEW_CHANNEL_GAIN = 10.0


def widened_params(params, factor: float):
    """The parameters of a WACNN ``factor`` times as wide (N, M, heads and slices)."""
    f = Fraction(factor).limit_denominator(64)
    if f <= 1:
        raise ValueError(f"widen factor {factor:g} must be above 1")
    z_channels = params.z_channels or params.N
    grown = {}
    for name in ("N", "M", "num_heads", "num_slices"):
        value = getattr(params, name) * f
        if value.denominator != 1:
            raise ValueError(f"widen factor {factor:g} makes {name} = {getattr(params, name)} x {factor:g} "
                             "a fraction (N, M, num_heads and num_slices must all stay whole)")
        grown[name] = int(value)
    return dataclasses.replace(params, z_channels=z_channels, **grown)


def widen_state(narrow: nn.Module, wide: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict of ``wide`` (freshly built) that makes it compute what ``narrow`` does."""
    old, new = narrow.state_dict(), wide.state_dict()
    modules = dict(wide.named_modules())
    M_old, M_new = narrow.params.M, wide.params.M
    out = {}
    for name, fresh in new.items():
        if name not in old:  # a new slice's transforms: fresh, but its last layer silent
            out[name] = _silenced_if_last(name, fresh, wide)
            continue
        before = old[name]
        # Same shape, or an entropy model's CDF tables (z keeps its width; y's tables are shared).
        if before.shape == fresh.shape or name.startswith(("entropy_bottleneck.", "gaussian_conditional.")):
            out[name] = before.clone()
            continue
        module_name, _, kind = name.rpartition(".")
        module = modules.get(module_name)
        tensor = fresh.clone()
        index = tuple(_positions(name, axis, before.shape[axis], fresh.shape[axis], M_old, M_new)
                      for axis in range(before.dim()))
        if kind == "weight" and isinstance(module, _LINEAR):
            out_axis, in_axis = (1, 0) if isinstance(module, nn.ConvTranspose2d) else (0, 1)
            if not name.startswith(_Y_READERS):
                _zero_block(tensor, out_axis, index[out_axis], in_axis, index[in_axis])
        tensor[torch.meshgrid(*index, indexing="ij")] = before.to(tensor.dtype)
        if name.startswith(_Y_WRITERS) and isinstance(module, _LINEAR):
            out_axis = 1 if isinstance(module, nn.ConvTranspose2d) else 0
            _zero_new_rows(tensor, out_axis, index[out_axis])
        out[name] = tensor
    if "quality_gain.log_gain" in out:  # zero latents stay zero: the output is unchanged
        out["quality_gain.log_gain"][:, M_old:] += math.log(NEW_CHANNEL_GAIN)
        out["quality_gain.log_inverse_gain"][:, M_old:] -= math.log(NEW_CHANNEL_GAIN)
    return out


def _positions(name: str, axis: int, old: int, new: int, M_old: int, M_new: int) -> torch.Tensor:
    """Where the old channels of one axis sit in the wide tensor."""
    if old == new:
        return torch.arange(old)
    if new < old:
        raise ValueError(f"{name}: axis {axis} would shrink from {old} to {new}")
    if ".qkv." in name and axis == 0:  # q, k and v stacked: each third keeps its old channels first
        return torch.cat([torch.arange(old // 3) + part * (new // 3) for part in range(3)])
    if name.startswith(_SLICE_TRANSFORMS) and axis == 1 and name.split(".")[2] == "0":
        # The first layer of a slice transform reads [hyper means or scales (M), earlier slices]:
        # the M block grows, the slices after it move along.
        return torch.cat([torch.arange(M_old), torch.arange(old - M_old) + M_new])
    return torch.arange(old)


def _zero_block(tensor, out_axis, out_index, in_axis, in_index) -> None:
    """Zero the weights from new inputs into old outputs."""
    new_in = torch.ones(tensor.shape[in_axis], dtype=torch.bool)
    new_in[in_index] = False
    view = tensor.movedim((out_axis, in_axis), (0, 1))
    view[out_index[:, None], new_in.nonzero().flatten()[None, :]] = 0


def _zero_new_rows(tensor, out_axis, out_index) -> None:
    new_out = torch.ones(tensor.shape[out_axis], dtype=torch.bool)
    new_out[out_index] = False
    tensor.movedim(out_axis, 0)[new_out] = 0


def _silenced_if_last(name: str, fresh: torch.Tensor, wide: nn.Module) -> torch.Tensor:
    """A new slice's transform starts with a zero last layer: mean 0, smallest scale, no LRP."""
    parts = name.split(".")
    if parts[0] in _SLICE_TRANSFORMS:
        transform = getattr(wide, parts[0])[int(parts[1])]
        if int(parts[2]) == len(transform) - 1:
            return torch.zeros_like(fresh)
    return fresh.clone()
