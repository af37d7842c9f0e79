"""The assembled codec: a backbone plus prior guidance, as one CompressAI model.

The prior map g' the blocks see comes from three components: a structural prior (g), a text prior
(the binary text mask M) and a guidance that joins them — the paper's EPG, eq. 6, by default
(plugins/guidances/epg.py). Text detectors are held outside the module tree: their weights are
not codec weights and stay out of the codec's state dict and parameter count. A variable-rate
model (``rate`` set) takes a quality map q beside the image; the prior map is then (g', q), so the
encoder sees q wherever it sees the prior.

The codec asks its backbone how it is laid out (see plugins/backbones/layout.py): ``stride``,
the multiple images are padded to; ``latent_shapes(h, w)``, where the coded latents sit;
``fresh_prefixes``, its prior branch; ``encoder_prefixes``, what only the encoder runs;
``parameter_parts``, for ``sclc build``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from compressai.models import CompressionModel


def pad_to_stride(x: torch.Tensor, stride: int, mode: str = "replicate") -> torch.Tensor:
    h, w = x.shape[-2:]
    pad = (0, (-w) % stride, 0, (-h) % stride)
    if not any(pad):
        return x
    if mode == "replicate" and (pad[1] >= w or pad[3] >= h):
        mode = "constant"  # replicate needs the pad narrower than the image on old torch versions
    return F.pad(x, pad, mode=mode)


class PriorGuidedCodec(CompressionModel):
    def __init__(self, backbone: nn.Module, structural_prior: nn.Module, text_prior: nn.Module,
                 guidance: nn.Module, conditioned: bool, spec=None, rate=None):
        super().__init__()
        self.rate = rate  # VariableRateSpec or None
        self.backbone = backbone
        self.structural_prior = structural_prior
        self._text_prior = (text_prior,)  # a tuple hides it from nn.Module registration
        self.guidance = guidance
        self.conditioned = conditioned
        self.spec = spec

    @property
    def text_prior(self) -> nn.Module:
        return self._text_prior[0]

    def text_mask(self, x: torch.Tensor) -> torch.Tensor:
        return self.text_prior(x)

    def prior_map(self, x: torch.Tensor, text_mask: torch.Tensor | None = None,
                  quality_map: torch.Tensor | None = None) -> torch.Tensor:
        """g' for an image, and q beside it for a variable-rate model; ``text_mask`` overrides the
        text prior (e.g. ground-truth boxes)."""
        mask = self.text_mask(x) if text_mask is None else text_mask
        guided = self.guidance(self.structural_prior(x), mask.to(x.dtype))
        if self.rate is None:
            return guided
        if quality_map is None:
            raise ValueError("a variable-rate model needs a quality map (quality_map, values in [0, 1])")
        return torch.cat([guided, quality_map.to(x.dtype).expand_as(guided)], dim=1)

    def _padded_prior(self, x_padded: torch.Tensor, text_mask: torch.Tensor | None,
                      quality_map: torch.Tensor | None):
        if not self.conditioned:
            return None
        if text_mask is not None:
            text_mask = self.pad(text_mask, mode="constant")
        if quality_map is not None:
            quality_map = self.pad(quality_map)
        return self.prior_map(x_padded, text_mask, quality_map)

    def freeze_decoder(self) -> None:
        """Stop gradients to everything the decoder runs (synthesis, hyper-synthesis, entropy
        models and their quantiles, quality gains): training then moves only the encoder, and
        files it writes decode with the unchanged decoder."""
        encoder = tuple(f"backbone.{p}" for p in self.backbone.encoder_prefixes)
        encoder += ("structural_prior.", "guidance.")  # the prior map g' is computed from the image
        for name, param in self.named_parameters():
            param.requires_grad_(name.startswith(encoder))

    def pad(self, x: torch.Tensor, mode: str = "replicate") -> torch.Tensor:
        """``x`` padded at the bottom and right to the backbone's stride."""
        return pad_to_stride(x, self.backbone.stride, mode)

    def _run(self, method, x_padded, prior, quality_map, **options):
        if not self.conditioned:
            return method(x_padded, **options)
        if self.rate is None:
            return method(x_padded, prior, **options)
        # A variable-rate backbone also gets each image's mean quality (its level).
        return method(x_padded, prior, level=quality_map.flatten(1).mean(1), **options)

    def forward(self, x: torch.Tensor, text_mask: torch.Tensor | None = None,
                quality_map: torch.Tensor | None = None) -> dict:
        h, w = x.shape[-2:]
        padded = self.pad(x)
        out = self._run(self.backbone, padded, self._padded_prior(padded, text_mask, quality_map), quality_map)
        out["x_hat"] = out["x_hat"][..., :h, :w]
        return out

    @torch.no_grad()
    def compress(self, x: torch.Tensor, text_mask: torch.Tensor | None = None,
                 quality_map: torch.Tensor | None = None, refinement=None) -> dict:
        """``refinement``: a sclc.refine.Refinement, to optimise this image's latents before coding."""
        padded = self.pad(x)
        options = {}
        if refinement is not None and refinement.steps:
            options["refine"] = refinement.optimiser(padded, self._lmbda_weight(quality_map))
        out = self._run(self.backbone.compress, padded, self._padded_prior(padded, text_mask, quality_map),
                        quality_map, **options)
        out["size"] = tuple(x.shape[-2:])
        return out

    @property
    def can_refine(self) -> bool:
        """Encoder-side refinement needs a lambda to optimise for (a variable-rate model's quality
        map) and a backbone that can say what its latents cost as coded."""
        return self.rate is not None and hasattr(self.backbone, "as_coded")

    def _lmbda_weight(self, quality_map: torch.Tensor | None) -> torch.Tensor:
        """Per-pixel lambda of the quality map, zero on the padding (refinement's distortion weight)."""
        if not self.can_refine or quality_map is None:
            raise ValueError("refinement needs a variable-rate model with a backbone that has as_coded, "
                             "and its quality map")
        return self.pad(self.rate.lmbda(quality_map), mode="constant")

    @torch.no_grad()
    def decompress(self, strings, shape, size=None, **kwargs) -> dict:
        """Decode from the bitstream alone: no image, mask or prior is needed (paper sec. 3.1)."""
        out = self.backbone.decompress(strings, shape, **kwargs)
        if size is not None:
            out["x_hat"] = out["x_hat"][..., : size[0], : size[1]]
        return out


def parameter_counts(model: PriorGuidedCodec) -> dict[str, int]:
    """Parameters per part of the model (the backbone names its parts), for ``sclc build``."""
    parts = model.backbone.parameter_parts
    counts = {**dict.fromkeys(parts.values(), 0), "prior branch": 0, "other": 0}
    for name, param in model.backbone.named_parameters():
        part = next((p for prefix, p in parts.items() if name.startswith(prefix)), "other")
        counts[part] += param.numel()
    for prior in (model.structural_prior, model.guidance):
        counts["prior branch"] += sum(p.numel() for p in prior.parameters())
    counts["total"] = sum(counts.values())
    counts["text detector (not in codec)"] = sum(p.numel() for p in model.text_prior.parameters())
    return counts
