"""Assemble a codec and its loss from a validated :class:`~sclc.spec.Spec`."""

from __future__ import annotations

import torch
import torch.nn as nn
from compressai.models import CompressionModel

from sclc.errors import SclcError
from sclc.model import PriorGuidedCodec
from sclc.registry import Registry, default_registry
from sclc.spec import Spec


def _make(registry: Registry, kind: str, choice, *args, **kwargs):
    component = registry.get(kind, choice.name)
    try:
        return component.factory(choice.params, *args, **kwargs)
    except (ValueError, TypeError) as exc:
        raise SclcError(f"{kind} '{choice.name}' ({component.provider}) could not be built: {exc}") from None


def build_model(spec: Spec, registry: Registry | None = None) -> PriorGuidedCodec:
    """Build the codec with seeded random weights (same spec and seed -> same weights)."""
    registry = registry or default_registry()
    torch.manual_seed(spec.seed)
    if spec.conditioned:
        block_component = registry.get("block", spec.block.name)

        def block(channels: int, prior_channels: int) -> nn.Module:
            return block_component.factory(spec.block.params, channels, prior_channels)

        # g' and the quality map; the backbone may also use the map's mean (quality gains)
        rate = spec.variable_rate
        extra = ({"prior_maps": 2, "variable_rate": True, "lmbda_ratio": rate.lmbda_max / rate.lmbda_min}
                 if rate else {})
        backbone = _make(registry, "backbone", spec.backbone, block=block, sites=spec.sites, **extra)
    else:
        backbone = _make(registry, "backbone", spec.backbone)
    if not isinstance(backbone, CompressionModel):
        raise SclcError(f"backbone '{spec.backbone.name}' did not return a compressai CompressionModel")
    structural = _make(registry, "structural_prior", spec.structural_prior)
    text = _make(registry, "text_prior", spec.text_prior)
    guidance = _make(registry, "guidance", spec.guidance)
    return PriorGuidedCodec(backbone, structural, text, guidance, spec.conditioned, spec=spec,
                            rate=spec.variable_rate)


def build_loss(spec: Spec, registry: Registry | None = None) -> nn.Module:
    return _make(registry or default_registry(), "loss", spec.loss, spec.lmbda)
