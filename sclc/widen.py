"""``sclc widen``: a trained codec grown wider, computing what it computed (Net2Net).

Training a wider model from scratch throws away the hours a narrow one took; widening starts
the wider one where the narrow one stands, so further training (on CPU or a lent GPU) only has
to teach the new channels. The backbone's plugin says how it grows (``widened_params`` and
``widen_state`` in its registration); the priors, guidance and text prior are carried over.
"""

from __future__ import annotations

import torch

from sclc.builder import build_model
from sclc.errors import SclcError
from sclc.model import PriorGuidedCodec
from sclc.registry import Registry, default_registry
from sclc.spec import Choice, replace


def widen_codec(codec: PriorGuidedCodec, factor: float, registry: Registry | None = None) -> PriorGuidedCodec:
    registry = registry or default_registry()
    spec = codec.spec
    entry = registry.get("backbone", spec.backbone.name)
    if "widen_state" not in entry.extra:
        raise SclcError(f"backbone '{spec.backbone.name}' ({entry.provider}) cannot be widened: "
                        "its plugin registers no widened_params / widen_state")
    try:
        params = entry.extra["widened_params"](spec.backbone.params, factor)
    except ValueError as exc:
        raise SclcError(str(exc)) from None
    wide_spec = replace(spec, name=f"{spec.name}-x{factor:g}", backbone=Choice(spec.backbone.name, params))
    wide = build_model(wide_spec, registry)
    backbone = entry.extra["widen_state"](codec.backbone, wide.backbone)
    others = {k: v for k, v in codec.state_dict().items() if not k.startswith("backbone.")}
    with torch.no_grad():
        wide.load_state_dict({**others, **{f"backbone.{k}": v for k, v in backbone.items()}})
    return wide.eval()


def overrides(codec: PriorGuidedCodec) -> list[str]:
    """``--set`` options that give a spec file this codec's backbone (to train it further)."""
    params = codec.spec.backbone.params
    return [f"backbone.{name}={getattr(params, name)}" for name in ("N", "M", "num_heads", "num_slices", "z_channels")]
