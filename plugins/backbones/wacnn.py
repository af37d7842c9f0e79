"""WACNN (Zou et al., CVPR 2022) with the paper's structural-prior injection sites.

Layer order and parameter names follow the reference (Googolxx/STF ``compressai/models/cnn.py``),
so ``g_a``, ``g_s``, ``h_a``, ``h_mean_s``, ``h_scale_s`` and the slice transforms keep the
reference's state-dict keys. Unlike the reference, N, M, the hyper width (z channels), the number
of slices and the slice support are parameters.

Prior guidance (paper section 3.1): conditioning blocks act after each GDN of the encoder
``g_a`` (prior features from the prior branch ``prior_g_a``), at the input of the hyper-encoder
``h_a`` (the prior map area-downsampled to y's size), and after each inverse GDN of the decoder
``g_s``, whose prior ``w`` is *recovered from z_hat* by ``prior_g_s``: the decoder never sees the
prior itself, so nothing about it is transmitted.
"""

from __future__ import annotations

from dataclasses import dataclass
import zlib
from typing import Callable, Literal

import numpy as np

import torch
import torch.nn as nn
import torch.nn.functional as F
from compressai.ans import BufferedRansEncoder, RansDecoder
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.layers import conv3x3, subpel_conv3x3
from compressai.models import CompressionModel
from compressai.models.utils import conv, deconv
from compressai.ops import quantize_ste as ste_round

import sclc
from sclc.schema import at_least
from sclc_plugins.backbones import wacnn_widen
from sclc_plugins.backbones.layout import HyperpriorLayout
from sclc_plugins.layers.gdn import GDN
from sclc_plugins.layers.quality_gain import INITIAL_SPAN, QualityGain, initial_span, level_from_bytes, level_to_bytes
from sclc_plugins.layers.window_attention import WindowAttentionModule

SITES = ("g_a", "h_a", "g_s")
G_A_SITES = (1, 3, 6)  # after each GDN of g_a: H/2, H/4, H/8
G_S_SITES = (2, 4, 7)  # after each inverse GDN of g_s: H/8, H/4, H/2


@dataclass(frozen=True)
class WACNNParams:
    N: int = 192
    M: int = 320
    z_channels: int = 0  # 0 -> N, the reference's 192 for N=192
    num_slices: int = 10
    max_support_slices: int = 5
    num_heads: int = 8
    window_N: int = 8
    shift_N: int = 4
    window_M: int = 4
    shift_M: int = 2
    prior_channels: int = 32  # width of the prior branches feeding the conditioning blocks
    # What h_s sees in training. "noise": z + U(-0.5, 0.5) (CompressAI's models), so h_s learns from
    # the start how z varies. "ste": rounded z with a straight-through gradient (the STF reference);
    # at small scale z then never leaves its median, h_s sees one constant map and the hyperprior
    # (and the decoder prior recovered from it) stays dead (issue "Codecs that really compress").
    z_train: Literal["noise", "ste"] = "noise"
    # Variable-rate models: per-channel gains of y at this many quality levels (Cui et al. 2021),
    # driven by the image's mean quality, which travels as a 2-byte side string. None: no gains
    # (variable-rate models before gains; left out of the spec so their model ids stay).
    quality_gains: int | None = None

    def __post_init__(self):
        at_least(self, 1, "N", "M", "num_slices", "num_heads", "prior_channels")
        at_least(self, 0, "z_channels", "max_support_slices")
        if self.M % self.num_slices:
            raise ValueError(f"M = {self.M} must be divisible by num_slices = {self.num_slices}")
        for width in (self.N, self.M):
            if width % self.num_heads:
                raise ValueError(f"N and M must be divisible by num_heads = {self.num_heads} (got {width})")
        if self.N < 2 or self.M < 2:
            raise ValueError("N and M must be >= 2")


def _widths(start: int, stop: int, steps: int) -> list[int]:
    """Evenly spaced widths from start to stop: 320 -> 192 in 4 steps gives the reference's
    320, 288, 256, 224, 192."""
    return [round(start + (stop - start) * i / steps) for i in range(steps + 1)]


def _slice_transform(in_ch: int, out_ch: int, M: int) -> nn.Sequential:
    # Reference widths for M=320: 224, 176, 128, 64 (0.7, 0.55, 0.4, 0.2 of M).
    hidden = [max(out_ch, round(M * f)) for f in (0.7, 0.55, 0.4, 0.2)]
    chans = [in_ch, *hidden, out_ch]
    layers: list[nn.Module] = []
    for i in range(len(chans) - 1):
        layers.append(conv(chans[i], chans[i + 1], stride=1, kernel_size=3))
        if i < len(chans) - 2:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


def _hyper_synthesis(z: int, M: int) -> nn.Sequential:
    w = _widths(z, M, 4)
    return nn.Sequential(
        conv3x3(w[0], w[0]), nn.GELU(),
        subpel_conv3x3(w[0], w[1], 2), nn.GELU(),
        conv3x3(w[1], w[2]), nn.GELU(),
        subpel_conv3x3(w[2], w[3], 2), nn.GELU(),
        conv3x3(w[3], w[4]),
    )


BlockFactory = Callable[[int, int], nn.Module]


class WACNN(HyperpriorLayout, CompressionModel):
    fresh_prefixes = ("prior_", "cond_", "quality_gain.")  # prior branch, its blocks, quality gains (1 at q = 0.5)
    block_prefixes = ("cond_",)
    # The prior branch at g_s is recovered from z_hat by the decoder, so it stays with the decoder.
    encoder_prefixes = ("g_a", "h_a", "prior_g_a", "cond_g_a", "cond_h_a")
    parameter_parts = {**HyperpriorLayout.parameter_parts, "cc_": "entropy", "lrp_": "entropy",
                       "prior_": "prior branch", "cond_": "prior branch"}

    def __init__(self, p: WACNNParams = WACNNParams(), block: BlockFactory | None = None,
                 sites: tuple[str, ...] = (), prior_maps: int = 1, variable_rate: bool = False,
                 lmbda_ratio: float | None = None):
        super().__init__()
        if p.quality_gains is not None and not variable_rate:
            raise ValueError("quality_gains needs a variable-rate model (a [variable_rate] table)")
        N, M, Z, P = p.N, p.M, p.z_channels or p.N, p.prior_channels
        self.params, self.sites = p, tuple(sites) if block else ()
        self.num_slices, self.max_support_slices = p.num_slices, p.max_support_slices
        self.slice_channels = M // p.num_slices

        self.g_a = nn.Sequential(
            conv(3, N, kernel_size=5, stride=2), GDN(N),
            conv(N, N, kernel_size=5, stride=2), GDN(N),
            WindowAttentionModule(N, p.num_heads, p.window_N, p.shift_N),
            conv(N, N, kernel_size=5, stride=2), GDN(N),
            conv(N, M, kernel_size=5, stride=2),
            WindowAttentionModule(M, p.num_heads, p.window_M, p.shift_M),
        )
        self.g_s = nn.Sequential(
            WindowAttentionModule(M, p.num_heads, p.window_M, p.shift_M),
            deconv(M, N, kernel_size=5, stride=2), GDN(N, inverse=True),
            deconv(N, N, kernel_size=5, stride=2), GDN(N, inverse=True),
            WindowAttentionModule(N, p.num_heads, p.window_N, p.shift_N),
            deconv(N, N, kernel_size=5, stride=2), GDN(N, inverse=True),
            deconv(N, 3, kernel_size=5, stride=2),
        )
        w = _widths(M, Z, 4)
        self.h_a = nn.Sequential(
            conv3x3(w[0], w[0]), nn.GELU(),
            conv3x3(w[0], w[1]), nn.GELU(),
            conv3x3(w[1], w[2], stride=2), nn.GELU(),
            conv3x3(w[2], w[3]), nn.GELU(),
            conv3x3(w[3], w[4], stride=2),
        )
        self.h_mean_s = _hyper_synthesis(Z, M)
        self.h_scale_s = _hyper_synthesis(Z, M)
        s = self.slice_channels
        # Slice i sees the hyper output plus up to max_support earlier slices; its LRP also sees itself.
        support = [M + s * min(i, p.max_support_slices) for i in range(p.num_slices)]
        self.cc_mean_transforms = nn.ModuleList(_slice_transform(c, s, M) for c in support)
        self.cc_scale_transforms = nn.ModuleList(_slice_transform(c, s, M) for c in support)
        self.lrp_transforms = nn.ModuleList(_slice_transform(c + s, s, M) for c in support)
        self.entropy_bottleneck = EntropyBottleneck(Z)
        self.gaussian_conditional = GaussianConditional(None)
        span = initial_span(lmbda_ratio) if lmbda_ratio else INITIAL_SPAN
        self.quality_gain = QualityGain(M, p.quality_gains, span) if p.quality_gains is not None else None
        # Strings written beside the entropy-coded y and z: the quality level, where gains use it.
        self.side_strings = 1 if self.quality_gain is not None else 0

        if "g_a" in self.sites:
            # Prior branch g_{a,p}: prior features at H/2, H/4, H/8 for the three g_a sites.
            self.prior_g_a = nn.ModuleList(
                nn.Sequential(conv(prior_maps if i == 0 else P, P, kernel_size=3, stride=2), nn.GELU()) for i in range(3))
            self.cond_g_a = nn.ModuleList(block(N, P) for _ in G_A_SITES)
        if "h_a" in self.sites:
            self.cond_h_a = block(M, prior_maps)
        if "g_s" in self.sites:
            # Prior recovered from z_hat (H/64 -> H/16), then lifted to H/8, H/4, H/2.
            self.prior_recover = nn.Sequential(
                subpel_conv3x3(Z, P, 2), nn.GELU(), subpel_conv3x3(P, P, 2), nn.GELU())
            self.prior_g_s = nn.ModuleList(
                nn.Sequential(deconv(P, P, kernel_size=3, stride=2), nn.GELU()) for _ in G_S_SITES)
            self.cond_g_s = nn.ModuleList(block(N, P) for _ in G_S_SITES)

    # -- transforms ----------------------------------------------------------------------------
    def analysis(self, x: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        if "g_a" not in self.sites:
            return self.g_a(x)
        self._check_prior(prior)
        features, k = prior, 0
        for i, layer in enumerate(self.g_a):
            x = layer(x)
            if i in G_A_SITES:
                features = self.prior_g_a[k](features)
                x = self.cond_g_a[k](x, features[..., : x.shape[-2], : x.shape[-1]])
                k += 1
        return x

    def hyper_analysis(self, y: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        if "h_a" in self.sites:
            self._check_prior(prior)
            y = self.cond_h_a(y, _resize_prior(prior, y.shape[-2:]))
        return self.h_a(y)

    def synthesis(self, y_hat: torch.Tensor, z_hat: torch.Tensor) -> torch.Tensor:
        """Decoder g_s. Takes no prior argument by design: its prior is recovered from z_hat."""
        if "g_s" not in self.sites:
            return self.g_s(y_hat)
        features, k, x = self.prior_recover(z_hat), 0, y_hat
        for i, layer in enumerate(self.g_s):
            x = layer(x)
            if i in G_S_SITES:
                features = self.prior_g_s[k](features)
                x = self.cond_g_s[k](x, features[..., : x.shape[-2], : x.shape[-1]])
                k += 1
        return x

    def _check_prior(self, prior):
        if prior is None:
            raise ValueError(f"this WACNN is conditioned at {', '.join(self.sites)} and needs a prior map")

    # -- channel-conditional entropy model ------------------------------------------------------
    def _slice_params(self, index, latent_means, latent_scales, y_hat_slices, y_shape):
        support = y_hat_slices if self.max_support_slices < 0 else y_hat_slices[: self.max_support_slices]
        mean_support = torch.cat([latent_means, *support], dim=1)
        scale_support = torch.cat([latent_scales, *support], dim=1)
        mu = self.cc_mean_transforms[index](mean_support)[:, :, : y_shape[0], : y_shape[1]]
        scale = self.cc_scale_transforms[index](scale_support)[:, :, : y_shape[0], : y_shape[1]]
        return mu, scale, mean_support

    def _refine(self, index, mean_support, y_hat_slice):
        lrp = self.lrp_transforms[index](torch.cat([mean_support, y_hat_slice], dim=1))
        return y_hat_slice + 0.5 * torch.tanh(lrp)

    def _hyper(self, z_hat, y_shape):
        means = self.h_mean_s(z_hat)[:, :, : y_shape[0], : y_shape[1]]
        scales = self.h_scale_s(z_hat)[:, :, : y_shape[0], : y_shape[1]]
        return means, scales

    def _gained(self, y: torch.Tensor, level: torch.Tensor | None) -> torch.Tensor:
        if self.quality_gain is None:
            return y
        if level is None:
            raise ValueError("this WACNN has quality gains and needs a quality level per image")
        return self.quality_gain.encode(y, level)

    def _ungained(self, y_hat: torch.Tensor, level: torch.Tensor | None) -> torch.Tensor:
        return y_hat if self.quality_gain is None else self.quality_gain.decode(y_hat, level)

    def latent_gain(self, level: torch.Tensor | None) -> torch.Tensor | float:
        """The per-channel gain the encoder applies to y at ``level`` (1 without gains): how far a
        step in y moves the image, so encoder-side refinement scales its steps by it."""
        if self.quality_gain is None or level is None:
            return 1.0
        return self.quality_gain.encode(torch.ones(1, self.params.M, 1, 1, device=self.quality_gain.log_gain.device), level)

    def latents(self, x: torch.Tensor, prior: torch.Tensor | None = None, level: torch.Tensor | None = None):
        """(y, z) of an image: y as coded (after the quality gains), z from it."""
        y = self._gained(self.analysis(x, prior), level)
        return y, self.hyper_analysis(y, prior)

    def forward(self, x: torch.Tensor, prior: torch.Tensor | None = None, level: torch.Tensor | None = None) -> dict:
        """``level``: (B,) quality levels in [0, 1] for a model with quality gains."""
        y, z = self.latents(x, prior, level)
        z_hat, z_likelihoods = _in_fp32(self.entropy_bottleneck, z)  # noisy in training, rounded in eval
        if self.training and self.params.z_train == "ste":
            z_offset = self.entropy_bottleneck._get_medians()
            z_hat = ste_round(z - z_offset) + z_offset
        x_hat, y_likelihoods = self._synthesise(y, z_hat, level, as_coded=False)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def as_coded(self, y: torch.Tensor, z: torch.Tensor, level: torch.Tensor | None = None,
                 rounding: Callable = ste_round) -> dict:
        """What a file holding latents (y, z) decodes to and costs, differentiable in y and z:
        both are rounded exactly as ``compress`` rounds them, gradients pass straight through.
        The objective of encoder-side refinement (sclc/refine.py), which may pass a soft
        ``rounding`` (annealed towards the hard one) in place of the straight-through rounding."""
        z_offset = self.entropy_bottleneck._get_medians()
        z_hat = rounding(z - z_offset) + z_offset
        x_hat, y_likelihoods = self._synthesise(y, z_hat, level, as_coded=True, rounding=rounding)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": _z_likelihood(self.entropy_bottleneck, z_hat)}}

    def _synthesise(self, y, z_hat, level, as_coded: bool, rounding: Callable = ste_round):
        """(x_hat, y likelihoods): y's likelihoods are those of the rounded y when ``as_coded``,
        else the entropy model's own (noisy in training)."""
        y_shape = y.shape[2:]
        latent_means, latent_scales = self._hyper(z_hat, y_shape)
        gc = self.gaussian_conditional
        y_hat_slices, y_likelihoods = [], []
        for index, y_slice in enumerate(y.chunk(self.num_slices, 1)):
            mu, scale, mean_support = self._slice_params(index, latent_means, latent_scales, y_hat_slices, y_shape)
            y_hat_slice = rounding(y_slice - mu) + mu
            if as_coded:
                likelihood = gc.likelihood_lower_bound(gc._likelihood(y_hat_slice.float(), scale.float(), mu.float()))
            else:
                _, likelihood = _in_fp32(gc, y_slice, scale, mu)
            y_likelihoods.append(likelihood)
            y_hat_slices.append(self._refine(index, mean_support, y_hat_slice))
        y_hat = self._ungained(torch.cat(y_hat_slices, dim=1), level)
        return self.synthesis(y_hat, z_hat), torch.cat(y_likelihoods, dim=1)

    def _coding_layout(self, x: torch.Tensor) -> torch.Tensor:
        """Channels-last weights and input for coding on CPU: oneDNN's convolutions run faster in
        NHWC. Only the memory layout changes; symbols are still read in logical NCHW order."""
        if x.device.type != "cpu":
            return x
        if not self.g_a[0].weight.is_contiguous(memory_format=torch.channels_last):
            self.to(memory_format=torch.channels_last)
        return x.contiguous(memory_format=torch.channels_last)

    @torch.no_grad()
    def compress(self, x: torch.Tensor, prior: torch.Tensor | None = None, level: torch.Tensor | None = None,
                 refine: Callable | None = None) -> dict:
        """``refine(backbone, y, z, level) -> (y, z)``: an encoder-side optimiser of the latents
        (sclc/refine.py); the decoder is the same either way."""
        if x.shape[0] != 1:
            raise ValueError("compress codes one image at a time (batch size 1)")
        x = self._coding_layout(x)
        side = []
        if self.quality_gain is not None and level is not None:
            side = [[level_to_bytes(level.reshape(()))]]
            level = level_from_bytes(side[0][0])
        y, z = self.latents(x, prior, level)
        if refine is not None:
            y, z = refine(self, y, z, level)
        y_shape = y.shape[2:]
        z_strings = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_strings, z.size()[-2:])
        latent_means, latent_scales = self._hyper(z_hat, y_shape)

        gc = self.gaussian_conditional
        cdf, cdf_lengths, offsets = self._cdf_tables()
        encoder = BufferedRansEncoder()
        symbols, indexes, y_hat_slices = [], [], []
        for index, y_slice in enumerate(y.chunk(self.num_slices, 1)):
            mu, scale, mean_support = self._slice_params(index, latent_means, latent_scales, y_hat_slices, y_shape)
            index_map = build_indexes(gc, scale)
            y_q = gc.quantize(y_slice, "symbols", mu)
            symbols.extend(y_q.reshape(-1).tolist())
            indexes.extend(index_map.reshape(-1).tolist())
            # The encoder needs refined slices only as support for later slices.
            if self.max_support_slices < 0 or index < self.max_support_slices:
                y_hat_slices.append(self._refine(index, mean_support, y_q + mu))
        encoder.encode_with_indexes(symbols, indexes, cdf, cdf_lengths, offsets)
        return {"strings": [[encoder.flush()], z_strings, *side], "shape": z.size()[-2:], "index_crc": _crc(indexes)}

    @torch.no_grad()
    def decompress(self, strings, shape, index_crc: int | None = None) -> dict:
        """Decode; with ``index_crc`` (from ``compress``), fail loudly instead of returning a wrong
        image when this side's entropy parameters differ from the encoder's."""
        level = level_from_bytes(strings[2][0]) if self.quality_gain is not None else None
        z_hat = self._coding_layout(self.entropy_bottleneck.decompress(strings[1], shape))
        y_shape = (z_hat.shape[2] * 4, z_hat.shape[3] * 4)
        crc = 0
        latent_means, latent_scales = self._hyper(z_hat, y_shape)
        gc = self.gaussian_conditional
        cdf, cdf_lengths, offsets = self._cdf_tables()
        decoder = RansDecoder()
        decoder.set_stream(strings[0][0])
        y_hat_slices = []
        for index in range(self.num_slices):
            mu, scale, mean_support = self._slice_params(index, latent_means, latent_scales, y_hat_slices, y_shape)
            index_list = build_indexes(gc, scale).reshape(-1).tolist()
            crc = _crc(index_list, crc)
            values = decoder.decode_stream(index_list, cdf, cdf_lengths, offsets)
            values = torch.tensor(values, dtype=mu.dtype, device=mu.device).reshape(mu.shape)
            y_hat_slices.append(self._refine(index, mean_support, gc.dequantize(values, mu)))
        if index_crc is not None and crc != index_crc:
            raise ValueError("the decoder's entropy parameters differ from the encoder's "
                             "(different model weights, or a non-deterministic platform)")
        x_hat = self.synthesis(self._ungained(torch.cat(y_hat_slices, dim=1), level), z_hat).clamp_(0, 1)
        return {"x_hat": x_hat}

    def _cdf_tables(self):
        gc = self.gaussian_conditional
        return (gc.quantized_cdf.tolist(), gc.cdf_length.reshape(-1).int().tolist(),
                gc.offset.reshape(-1).int().tolist())


def build_indexes(gc: GaussianConditional, scales: torch.Tensor) -> torch.Tensor:
    """Same result as ``GaussianConditional.build_indexes`` (the number of scale-table entries,
    last one excluded, below each scale) in one ``bucketize`` instead of a 63-step Python loop
    that took a third of the coding time."""
    scales = gc.lower_bound_scale(scales).contiguous()
    return torch.bucketize(scales, gc.scale_table[:-1].to(scales.dtype)).int()


def _crc(indexes: list[int], crc: int = 0) -> int:
    return zlib.crc32(np.asarray(indexes, dtype=np.int32).tobytes(), crc)


def _in_fp32(entropy_model, *tensors):
    """Entropy models and likelihoods in float32 under bf16 autocast of the transforms: a
    likelihood needs more precision than 8 mantissa bits (and float16 underflows its 1e-9 floor)."""
    with torch.autocast(tensors[0].device.type, enabled=False):
        return entropy_model(*(t.float() for t in tensors))


def _z_likelihood(bottleneck: EntropyBottleneck, z_hat: torch.Tensor) -> torch.Tensor:
    """The factorized prior's likelihood of an already rounded z (B, C, H, W), keeping its gradient
    (``EntropyBottleneck.forward`` in eval mode rounds again, and rounding has none)."""
    values = z_hat.float().transpose(0, 1)
    likelihood, _, _ = bottleneck._likelihood(values.reshape(values.shape[0], 1, -1))
    return bottleneck.likelihood_lower_bound(likelihood).reshape(values.shape).transpose(0, 1)


def _resize_prior(prior: torch.Tensor, size) -> torch.Tensor:
    """Down-sample the prior map to ``size`` by area averaging (paper: g'_1, the prior at y's size)."""
    return F.adaptive_avg_pool2d(prior, size)


def build(params: WACNNParams, block: BlockFactory | None = None, sites: tuple[str, ...] = (),
          prior_maps: int = 1, variable_rate: bool = False, lmbda_ratio: float | None = None) -> WACNN:
    """``prior_maps``: channels of the prior map (1: g'; 2: g' and a quality map); ``lmbda_ratio``:
    lambda_max / lambda_min of the variable-rate range (sets where the quality gains start)."""
    return WACNN(params, block, sites, prior_maps, variable_rate, lmbda_ratio)


@sclc.hookimpl
def sclc_register_backbones(register):
    register("wacnn", build, params=WACNNParams, sites=SITES,
             widened_params=wacnn_widen.widened_params, widen_state=wacnn_widen.widen_state,
             summary="Window-attention CNN with channel-conditional entropy model and prior injection sites",
             reference="Zou et al., CVPR 2022; paper Fig. 1 / sec. 3.1")
