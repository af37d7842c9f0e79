"""Codec checkpoints: their fingerprint, saving (optionally in float16), loading and export.

A codec checkpoint is one ``torch.save`` file of plain data — the spec, the providers of its
components, and the state dict including the entropy models' CDF tables after ``update()`` — so
it loads with ``torch.load(weights_only=True)`` and never executes pickled code.

Which model ``--model`` names, and what a file's reference names, is sclc.resolve.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path

import torch

from sclc.builder import build_model
from sclc.determinism import fixed_threads
from sclc.errors import SclcError, UnknownComponentError
from sclc.hookspecs import KINDS
from sclc.imageio import atomic_write
from sclc.model import PriorGuidedCodec
from sclc.registry import Registry, default_registry
from sclc.spec import Choice, parse_spec, replace

FORMAT = "sclc-codec"
VERSION = 1


def model_id(model: PriorGuidedCodec, spec_data: dict | None = None) -> bytes:
    """8-byte fingerprint of spec + weights (+ CDF tables): files record which model wrote them.

    ``spec_data``: the spec to fingerprint when it is not ``model.spec`` (a decoding model is
    built without its text detector; an embedded spec is fingerprinted as embedded)."""
    spec_data = model.spec.to_dict() if spec_data is None else spec_data
    # Training settings do not change what the model decodes: they stay out of its identity.
    coding = {k: v for k, v in spec_data.items() if k != "train"}
    digest = hashlib.sha256(json.dumps(coding, sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.digest()[:8]


def _providers(spec, registry: Registry) -> dict:
    """Kind -> [component, distribution], so that a missing plugin can be named on load; for the
    kinds the spec's data names (default guidance is written as [epg], and was never listed)."""
    named = spec.to_dict()
    choices = {kind.name: getattr(spec, kind.name) for kind in KINDS if kind.name in named}
    return {kind: [choice.name, registry.get(kind, choice.name).provider] for kind, choice in choices.items()}


def round_to_half(model: PriorGuidedCodec) -> None:
    """Round every weight to float16 precision in place (the model becomes the rounded one)."""
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(param.half().float())


def save_checkpoint(model: PriorGuidedCodec, path: str | Path, registry: Registry | None = None,
                    half: bool = False) -> None:
    """``half``: store the weights as float16 (half the file). The model is rounded first and its
    CDF tables rebuilt from the rounded weights, so the file describes exactly the saved model."""
    if half:
        round_to_half(model)
    with fixed_threads():
        model.update(force=True)
    params = {name for name, _ in model.named_parameters()}
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if k in params and v.is_floating_point() else v for k, v in state.items()}
    payload = {"format": FORMAT, "version": VERSION, "spec": model.spec.to_dict(),
               "providers": _providers(model.spec, registry or default_registry()), "state_dict": state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write(path, buffer.getvalue())


def load_dict(path: Path, content: bytes | None = None) -> dict:
    """``content``: the file's bytes when the caller has already read them."""
    try:
        data = torch.load(path if content is None else io.BytesIO(content), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise SclcError(f"no such checkpoint: {path}") from None
    except pickle.UnpicklingError as exc:
        unsafe = _unsafe_global(str(exc))
        if unsafe:
            raise SclcError(f"refusing checkpoint {path}: it holds pickled objects that could run code "
                            f"({unsafe}); only plain tensors and data are loaded") from None
        raise SclcError(f"cannot load checkpoint {path}: not a readable torch file") from None
    except (RuntimeError, EOFError, ValueError, OSError, UnicodeDecodeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SclcError(f"cannot load checkpoint {path}: {first}") from None
    if not isinstance(data, dict):
        raise SclcError(f"{path} is not an sclc checkpoint")
    return data


def _unsafe_global(message: str) -> str | None:
    """What the file wanted to import, from torch's weights_only refusal (None: just garbage)."""
    for line in message.splitlines():
        if "GLOBAL" in line:
            return line.strip().strip(".").replace("Trying to load unsupported ", "")
    return None


def parse_with_providers(spec_data: dict, source: str, providers: dict | None, registry: Registry):
    try:
        return parse_spec(spec_data, registry=registry, source=source)
    except UnknownComponentError as exc:
        hint = ""
        for kind, (name, provider) in (providers or {}).items():
            if name in str(exc) and provider:
                hint = f"; it was provided by the distribution '{provider}' — is that plugin installed?"
        raise SclcError(f"{source} needs a component that is not installed: {exc}{hint}") from None


def model_from_spec_data(spec_data: dict, state_dict: dict | None, source: str, providers: dict | None = None,
                         registry: Registry | None = None, decoding: bool = False) -> PriorGuidedCodec:
    """``decoding``: build no text detector (``model.spec`` then says ``none``)."""
    registry = registry or default_registry()
    spec = parse_with_providers(spec_data, source, providers, registry)
    if decoding:
        spec = replace(spec, text_prior=Choice("none"))
    model = build_model(spec, registry)
    if state_dict is not None:
        if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()):
            raise SclcError(f"{source}: damaged weights (state_dict needs names mapped to tensors)")
        try:
            model.load_state_dict(state_dict)
        except RuntimeError as exc:
            raise SclcError(f"{source}: weights do not fit the spec's model: {str(exc).splitlines()[0]}") from None
    else:
        with fixed_threads():
            model.update(force=True)
    return model.eval()


def codec_dict(path: Path, content: bytes | None) -> dict:
    data = load_dict(path, content)
    if data.get("format") != FORMAT:
        raise SclcError(f"{path} is not an sclc codec checkpoint (use `sclc export` on training checkpoints)")
    if not isinstance(data.get("version", 0), int) or data.get("version", 0) > VERSION:
        raise SclcError(f"{path} has checkpoint version {data.get('version')!r}; this sclc reads version {VERSION}")
    if not isinstance(data.get("spec"), dict) or not isinstance(data.get("state_dict"), dict):
        raise SclcError(f"{path} is a damaged sclc codec checkpoint (no spec or state_dict)")
    return data


def load_checkpoint(path: str | Path, registry: Registry | None = None,
                    content: bytes | None = None) -> PriorGuidedCodec:
    path = Path(path)
    data = codec_dict(path, content)
    return model_from_spec_data(data["spec"], data["state_dict"], str(path), data.get("providers"), registry)


def load_any_checkpoint(path: str | Path) -> PriorGuidedCodec:
    """The codec in a codec checkpoint or in a training checkpoint (``state_dict`` +
    ``meta.sclc_spec``, as the trainer writes)."""
    path = Path(path)
    data = load_dict(path)
    if data.get("format") == FORMAT:
        return load_checkpoint(path)
    meta = data.get("meta")
    spec_data = meta.get("sclc_spec") if isinstance(meta, dict) else None
    if not isinstance(spec_data, dict) or not isinstance(data.get("state_dict"), dict):
        raise SclcError(f"{path} holds no sclc spec (meta.sclc_spec) and state_dict: not an sclc training checkpoint")
    return model_from_spec_data(spec_data, codec_state(data["state_dict"]), str(path))


def export_checkpoint(training_checkpoint: str | Path, out: str | Path, half: bool = False) -> PriorGuidedCodec:
    """Training checkpoint -> codec checkpoint."""
    model = load_any_checkpoint(training_checkpoint)
    save_checkpoint(model, out, half=half)
    return model


def codec_state(training_state: dict) -> dict:
    """The codec's weights in a training checkpoint: without the DDP and trainer prefixes, and
    without the loss (which holds no weights of the codec)."""
    if not all(isinstance(k, str) for k in training_state):
        raise SclcError("damaged training checkpoint: its state_dict keys must be parameter names")
    state = {k.removeprefix("module.").removeprefix("codec."): v for k, v in training_state.items()}
    return {k: v for k, v in state.items() if not k.startswith("loss.")}
