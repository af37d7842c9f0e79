"""Codec checkpoints and model resolution.

A codec checkpoint is one ``torch.save`` file of plain data — the spec, the providers of its
components, and the state dict including the entropy models' CDF tables after ``update()`` — so
it loads with ``torch.load(weights_only=True)`` and never executes pickled code.

``--model`` accepts a checkpoint path, a spec TOML (seeded random weights; the compressed file
then embeds the spec so it decodes without ``--model``), or a pretrained name (sclc.zoo; the file
then names it, so it also decodes without ``--model``).

Decoding (``decoding=True``) builds no text detector: the decoder never runs one, and building
CRAFT alone took longer than decoding a small image. An embedded spec is reduced to what decoding
needs and checked against the memory limit on fake tensors before the real model is built.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch

from sclc import embedded, footprint, limits
from sclc.builder import build_model
from sclc.determinism import fixed_threads
from sclc.errors import SclcError, UnknownComponentError
from sclc.hookspecs import KINDS
from sclc.imageio import atomic_write
from sclc.model import PriorGuidedCodec
from sclc.registry import Registry, default_registry
from sclc.spec import Choice, load_spec, parse_spec, replace

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
    """Kind -> [component, distribution], so that a missing plugin can be named on load."""
    choices = {kind.name: getattr(spec, kind.name) for kind in KINDS}
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


def _load_dict(path: Path, content: bytes | None = None) -> dict:
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


def _parse(spec_data: dict, source: str, providers: dict | None, registry: Registry):
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
    spec = _parse(spec_data, source, providers, registry)
    if decoding:
        spec = replace(spec, text_prior=Choice("none"))
    model = build_model(spec, registry)
    if state_dict is not None:
        try:
            model.load_state_dict(state_dict)
        except RuntimeError as exc:
            raise SclcError(f"{source}: weights do not fit the spec's model: {str(exc).splitlines()[0]}") from None
    else:
        with fixed_threads():
            model.update(force=True)
    return model.eval()


def _codec_dict(path: Path, content: bytes | None) -> dict:
    data = _load_dict(path, content)
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
    data = _codec_dict(path, content)
    return model_from_spec_data(data["spec"], data["state_dict"], str(path), data.get("providers"), registry)


def _refuse_oversized(spec, what: str, height: int = 0, width: int = 0) -> None:
    """Build ``spec`` on fake tensors and refuse it when its weights, plus its activations for a
    ``height`` x ``width`` image, would pass the memory limit: a spec of a few bytes must not
    allocate gigabytes before anything can object."""
    try:
        fake = footprint.fake_build(lambda: build_model(spec), limits.max_memory())
    except footprint.TooLarge as exc:
        raise limits.LimitError(f"{what} is refused: {exc}; set SCLC_MAX_MEMORY_GB to raise it") from None
    except SclcError:
        raise
    except Exception as exc:  # a spec that passed validation may still describe an unbuildable model
        raise SclcError(f"{what}: the model cannot be built: "
                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    limits.check_memory(footprint.decode_bytes(fake, height, width), what)


def _decoding_checkpoint(path: Path, content: bytes | None, reference: bytes, description: str) -> "LoadedModel":
    """A checkpoint's model without its text detector, fingerprinted as the encoder saw it.
    ``content``: the bytes of a shipped (sha256-checked) file; any other file's spec is checked
    against the memory limit before its model is built."""
    data = _codec_dict(path, content)
    full = _parse(data["spec"], str(path), data.get("providers"), default_registry())
    if content is None:
        _refuse_oversized(replace(full, text_prior=Choice("none")), f"the model of {path}")
    model = model_from_spec_data(data["spec"], data["state_dict"], str(path), data.get("providers"), decoding=True)
    return LoadedModel(model, reference, description, _id=model_id(model, full.to_dict()))


def export_checkpoint(training_checkpoint: str | Path, out: str | Path, half: bool = False) -> PriorGuidedCodec:
    """Training checkpoint (``state_dict`` + ``meta.sclc_spec``, as the trainer writes) -> codec checkpoint."""
    path = Path(training_checkpoint)
    data = _load_dict(path)
    if data.get("format") == FORMAT:
        model = load_checkpoint(path)
    else:
        spec_data = (data.get("meta") or {}).get("sclc_spec")
        if spec_data is None or "state_dict" not in data:
            raise SclcError(f"{path} holds no sclc spec (meta.sclc_spec) and state_dict: not an sclc training checkpoint")
        state = {k.removeprefix("module.").removeprefix("codec."): v for k, v in data["state_dict"].items()}
        state = {k: v for k, v in state.items() if not k.startswith("loss.")}
        model = model_from_spec_data(spec_data, state, str(path))
    save_checkpoint(model, out, half=half)
    return model


def load_state_for_init(path: str | Path, spec) -> dict:
    """Weights to start stage 2 from: a codec checkpoint or an sclc training checkpoint."""
    data = _load_dict(Path(path))
    if data.get("format") == FORMAT:
        return data["state_dict"]
    if "state_dict" in data:
        state = {k.removeprefix("module.").removeprefix("codec."): v for k, v in data["state_dict"].items()}
        return {k: v for k, v in state.items() if not k.startswith("loss.")}
    raise SclcError(f"{path}: neither a codec checkpoint nor a training checkpoint")


# A conditioned model may start from a plain backbone's weights: its prior branch (the prior
# feature extractors and the conditioning blocks, which start as the identity) is then fresh.
PRIOR_BRANCH_PREFIXES = ("backbone.prior_", "backbone.cond_", "structural_prior.")


def init_weights(model: PriorGuidedCodec, state: dict, source: str) -> list[str]:
    """Load ``state`` into ``model`` for stage 2; returns the prior-branch tensors left fresh.

    Every other tensor must be present with the same shape (CompressAI's CDF buffers excepted:
    their length follows the weights); anything else is a spec mismatch and an error.
    """
    own = model.state_dict()
    fresh = [k for k in own if k not in state and k.startswith(PRIOR_BRANCH_PREFIXES)]
    missing = [k for k in own if k not in state and k not in fresh]
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


@dataclass
class LoadedModel:
    model: PriorGuidedCodec
    reference: bytes  # stored in files so they can be decoded without --model
    description: str
    quality: float | None = None  # variable-rate models: the quality files are written at
    text_quality: float = 0.0  # variable-rate models: this many qualities more on the text mask
    _id: bytes | None = None

    def identity(self) -> bytes:
        """The model id, hashed once: a loaded model's weights do not change."""
        if self._id is None:
            self._id = model_id(self.model)
        return self._id

    @property
    def setting(self) -> str:
        """How this model codes, for result tables: its name, and its quality if it has a choice."""
        name = self.model.spec.name
        if self.quality is None:
            return name
        return f"{name} q{self.quality:g}" + (f" text+{self.text_quality:g}" if self.text_quality else "")

    def at_quality(self, quality: float | None, text_quality: float = 0.0) -> "LoadedModel":
        """The same model (weights shared) coding at another quality; checked against its range."""
        rate = self.model.rate
        if rate is None:
            if quality is not None or text_quality:
                raise SclcError(f"{self.description} is a fixed-rate model: --quality and --text-quality apply "
                                f"to variable-rate models")
            return self
        quality = DEFAULT_QUALITY if quality is None else quality
        try:
            rate.q_of_quality(quality)
        except ValueError as exc:
            raise SclcError(f"{self.description}: {exc}") from None
        if text_quality < 0:
            raise SclcError(f"--text-quality {text_quality:g} must be >= 0")
        return LoadedModel(self.model, self.reference, self.description, quality, text_quality, _id=self._id)


DEFAULT_QUALITY = 4.0


def load_model(arg: str | Path, overrides: list[str] = (), quality: float | None = None,
               text_quality: float = 0.0, decoding: bool = False) -> LoadedModel:
    """A checkpoint path, a spec TOML, or a pretrained name; variable-rate models code at
    ``quality`` (default 4), ``text_quality`` qualities higher on the text mask.

    ``decoding``: the model only decodes, so no text detector is built."""
    return _load_model(arg, overrides, decoding).at_quality(quality, text_quality)


def _load_model(arg: str | Path, overrides: list[str], decoding: bool) -> LoadedModel:
    from sclc import zoo

    path = Path(arg)
    if not path.exists() and zoo.is_name(str(arg)):
        if overrides:
            raise SclcError(f"--set cannot change the pretrained model '{arg}'")
        return _pretrained(zoo.resolve(str(arg)), decoding)
    if path.suffix == ".toml":
        spec = load_spec(path, overrides)
        try:
            embed = embedded.decoder_spec(spec.to_dict())
        except embedded.EmbeddedSpecError as exc:
            raise SclcError(f"{path} cannot be embedded in compressed files ({exc}); "
                            f"train it and use the checkpoint instead") from None
        model = model_from_spec_data(spec.to_dict(), None, str(path), decoding=decoding)
        return LoadedModel(model, embedded.pack(embed), f"spec {path} (seed {spec.seed}, random weights)",
                           _id=model_id(model, embed))
    if path.exists():
        if decoding:
            return _decoding_checkpoint(path, None, b"", f"checkpoint {path}")
        return LoadedModel(load_checkpoint(path), b"", f"checkpoint {path}")
    known = ", ".join(sorted(zoo.catalogue())) or "none installed"
    raise SclcError(f"unknown model '{arg}': not a file, a spec (.toml) or a pretrained name ({known})")


def _pretrained(entry, decoding: bool) -> LoadedModel:
    from sclc import zoo

    description = f"pretrained {entry.name}"
    if decoding:
        return _decoding_checkpoint(entry.path, zoo.verified_bytes(entry), entry.reference, description)
    return LoadedModel(load_checkpoint(entry.path, content=zoo.verified_bytes(entry)), entry.reference, description)


def model_from_reference(reference: bytes, height: int, width: int) -> LoadedModel:
    """The decoding model a file names; an embedded spec is refused before it is built when its
    model would not fit the memory limit at the file's image size."""
    from sclc import zoo

    pretrained = zoo.from_reference(reference)
    if pretrained is not None:
        return _pretrained(pretrained, decoding=True)
    if reference.startswith(embedded.PREFIX):
        as_written = embedded.unpack(reference)
        spec_data = embedded.decoder_spec(as_written)
        spec = _parse(spec_data, "embedded spec", None, default_registry())
        _refuse_oversized(spec, f"decoding this {width}x{height} file with its embedded model", height, width)
        model = model_from_spec_data(spec_data, None, "embedded spec", decoding=True)
        return LoadedModel(model, reference, "embedded spec", _id=model_id(model, as_written))
    raise SclcError("the file does not say which model wrote it: pass --model CHECKPOINT")
