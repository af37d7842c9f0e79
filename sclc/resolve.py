"""Which model to code with: ``--model`` (a checkpoint, a spec or a pretrained name) or the model
a compressed file names.

A spec TOML gives seeded random weights; the compressed file then embeds the spec so it decodes
without ``--model``. A pretrained name (sclc.zoo) is written into the file, so it also decodes
without ``--model``.

Decoding (``decoding=True``) builds no text detector: the decoder never runs one, and building
CRAFT alone took longer than decoding a small image. An embedded spec is reduced to what decoding
needs and checked against the memory limit on fake tensors before the real model is built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from sclc import embedded, footprint, limits
from sclc.builder import build_model
from sclc.checkpoint import (
    codec_dict,
    load_checkpoint,
    model_from_spec_data,
    model_id,
    parse_with_providers,
)
from sclc.errors import SclcError
from sclc.model import PriorGuidedCodec
from sclc.registry import default_registry
from sclc.refine import ROUNDINGS
from sclc.spec import Choice, load_spec, replace


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
    data = codec_dict(path, content)
    full = parse_with_providers(data["spec"], str(path), data.get("providers"), default_registry())
    if content is None:
        _refuse_oversized(replace(full, text_prior=Choice("none")), f"the model of {path}")
    model = model_from_spec_data(data["spec"], data["state_dict"], str(path), data.get("providers"), decoding=True)
    return LoadedModel(model, reference, description, _id=model_id(model, full.to_dict()))


@dataclass
class LoadedModel:
    model: PriorGuidedCodec
    reference: bytes  # stored in files so they can be decoded without --model
    description: str
    quality: float | None = None  # variable-rate models: the quality files are written at
    text_quality: float = 0.0  # variable-rate models: this many qualities more on the text mask
    refine_steps: int = 0  # encoder-side latent refinement per image (sclc/refine.py); decoding is unchanged
    refine_rounding: str = "ste"  # how refinement rounds: sclc.refine.ROUNDINGS
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
        if self.refine_steps:
            name += f" refine{self.refine_steps}" + ("" if self.refine_rounding == "ste" else f" {self.refine_rounding}")
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
        low, high = rate.quality_range()
        if quality is None and low > high and not text_quality:
            return self  # no quality fits this model: only a --quality-map can drive it (codec.py says so)
        quality = rate.default_quality() if quality is None else quality
        try:
            rate.q_of_quality(quality)
        except ValueError as exc:
            raise SclcError(f"{self.description}: {exc}") from None
        if not 0 <= text_quality < float("inf"):  # NaN fails too
            raise SclcError(f"--text-quality {text_quality:g} must be a number >= 0")
        return dataclasses.replace(self, quality=quality, text_quality=text_quality)

    def refined(self, steps: int, rounding: str = "ste") -> "LoadedModel":
        """The same model spending ``steps`` optimiser steps on each image's latents before coding:
        smaller files for the same decoder, at encode time's expense."""
        if steps < 0:
            raise SclcError(f"--refine {steps}: the number of steps must be >= 0")
        if rounding not in ROUNDINGS:
            raise SclcError(f"--refine-rounding {rounding}: must be one of {', '.join(ROUNDINGS)}")
        if steps and not self.model.can_refine:
            raise SclcError(f"{self.description} cannot refine: --refine needs a variable-rate model "
                            f"(its quality map gives the lambda to optimise for) with a backbone that can")
        return dataclasses.replace(self, refine_steps=steps, refine_rounding=rounding)


def load_model(arg: str | Path, overrides: list[str] = (), quality: float | None = None,
               text_quality: float = 0.0, decoding: bool = False, refine_steps: int = 0) -> LoadedModel:
    """A checkpoint path, a spec TOML, or a pretrained name; variable-rate models code at
    ``quality`` (default DEFAULT_QUALITY, or the nearest quality the model accepts), ``text_quality`` qualities higher on the text mask.

    ``decoding``: the model only decodes, so no text detector is built."""
    return _load_model(arg, overrides, decoding).at_quality(quality, text_quality).refined(refine_steps)


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
        if overrides:
            raise SclcError(f"--set cannot change the checkpoint {path}: its weights fit its own spec")
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
        spec = parse_with_providers(spec_data, "embedded spec", None, default_registry())
        _refuse_oversized(spec, f"decoding this {width}x{height} file with its embedded model", height, width)
        model = model_from_spec_data(spec_data, None, "embedded spec", decoding=True)
        return LoadedModel(model, reference, "embedded spec", _id=model_id(model, as_written))
    raise SclcError("the file does not say which model wrote it: pass --model CHECKPOINT")
