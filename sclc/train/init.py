"""Stage 2: start a model from the weights of a codec or training checkpoint."""

from __future__ import annotations

from pathlib import Path

from sclc.checkpoint import FORMAT, codec_state, load_dict
from sclc.errors import SclcError
from sclc.model import PriorGuidedCodec


def load_state_for_init(path: str | Path, spec) -> dict:
    """Weights to start stage 2 from: a codec checkpoint or an sclc training checkpoint."""
    data = load_dict(Path(path))
    if data.get("format") == FORMAT:
        return data["state_dict"]
    if "state_dict" in data:
        return codec_state(data["state_dict"])
    raise SclcError(f"{path}: neither a codec checkpoint nor a training checkpoint")


def init_weights(model: PriorGuidedCodec, state: dict, source: str, fresh_blocks: bool = False) -> list[str]:
    """Load ``state`` into ``model`` for stage 2; returns the prior-branch tensors left fresh.

    Prior-branch tensors the model lacks are dropped (another block design), and with
    ``fresh_blocks`` all conditioning blocks start fresh. Every other tensor must be present with
    the same shape (CompressAI's CDF buffers excepted: their length follows the weights); anything
    else is a spec mismatch and an error.
    """
    own = model.state_dict()
    if fresh_blocks:  # e.g. to compare two block designs from the same start
        blocks = tuple(f"backbone.{p}" for p in model.backbone.block_prefixes)
        state = {k: v for k, v in state.items() if not k.startswith(blocks)}
    # A conditioned model may start from a plain backbone's weights: its prior branch (which the
    # backbone names; its conditioning blocks start as the identity) is then fresh.
    prior_branch = (*(f"backbone.{p}" for p in model.backbone.fresh_prefixes), "structural_prior.", "guidance.")
    fresh = [k for k in own if k not in state and k.startswith(prior_branch)]
    missing = [k for k in own if k not in state and k not in fresh]
    # Another block design in the prior branch (e.g. SFT-CB from NESFT weights): its old tensors
    # are dropped and the new blocks start fresh, as the identity.
    state = {k: v for k, v in state.items() if k in own or not k.startswith(prior_branch)}
    unexpected = [k for k in state if k not in own]
    cdf_buffers = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")
    mismatched = [k for k in state if k in own and state[k].shape != own[k].shape and not k.endswith(cdf_buffers)]
    if missing or unexpected or mismatched:
        problems = [f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                    for label, keys in (("missing", missing), ("unexpected", unexpected),
                                        ("other shape", mismatched)) if keys]
        raise SclcError(f"{source}: weights do not fit this spec's model ({'; '.join(problems)})")
    model.load_state_dict({**{k: own[k] for k in fresh}, **state})
    return fresh
