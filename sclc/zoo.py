"""Pretrained codecs shipped inside the package: ``--model sci --quality 1..8``.

Each shipped model is ONE variable-rate checkpoint that serves every quality in its range.
``pretrained/models.toml`` lists each file with its SHA-256; a file is checked before it is
loaded, so a damaged install fails with a clear message instead of decoding garbage. Nothing is
ever downloaded. How the models were trained and what they measure: ``pretrained/MODEL_CARD.md``.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sclc.errors import SclcError

DIRECTORY = Path(__file__).resolve().parent / "pretrained"
# Files written by the fixed-rate models of earlier releases name them as "zoo:NAME/QUALITY".
RETIRED = {"sci-tiny": "sci", "wacnn-tiny": "wacnn"}


@dataclass(frozen=True)
class Pretrained:
    name: str
    file: str
    sha256: str
    qualities: tuple[float, float]  # the --quality range it serves
    summary: str = ""
    measured: tuple[dict, ...] = field(default=())  # per quality: mean bpp / PSNR / text PSNR (model card)

    @property
    def path(self) -> Path:
        return DIRECTORY / self.file

    @property
    def reference(self) -> bytes:
        """What a compressed file records so that it decodes without --model."""
        return f"zoo:{self.name}".encode()


def catalogue() -> dict[str, Pretrained]:
    return _read_manifest(DIRECTORY / "models.toml")


@functools.lru_cache(maxsize=4)
def _read_manifest(manifest: Path) -> dict[str, Pretrained]:
    """Parsed once per process: every name lookup would otherwise re-read the file."""
    if not manifest.exists():
        return {}
    try:
        entries = tomllib.loads(manifest.read_text(encoding="utf-8")).get("model", [])
        return {e["name"]: Pretrained(**{**e, "qualities": tuple(e["qualities"]),
                                         "measured": tuple(e.get("measured", ()))}) for e in entries}
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise SclcError(f"{manifest} is damaged ({exc}); reinstall sclc") from None


def is_name(arg: str) -> bool:
    return arg in catalogue() or arg in RETIRED


def resolve(name: str) -> Pretrained:
    models = catalogue()
    if name in RETIRED and name not in models:
        raise SclcError(f"the pretrained model '{name}' is retired: use '{RETIRED[name]}' "
                        f"(one model for every quality)")
    if name not in models:
        known = ", ".join(sorted(models)) or "none installed"
        raise SclcError(f"unknown pretrained model '{name}' — pretrained models: {known}")
    return models[name]


def verified_bytes(model: Pretrained) -> bytes:
    """The model's file, read once and checked to be the file the manifest describes."""
    try:
        data = model.path.read_bytes()
    except OSError:
        raise SclcError(f"pretrained file {model.path} is missing; reinstall sclc") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != model.sha256:
        raise SclcError(f"pretrained file {model.path} is damaged (sha256 {digest[:12]}…, expected "
                        f"{model.sha256[:12]}…); reinstall sclc")
    return data


def from_reference(reference: bytes) -> Pretrained | None:
    """The pretrained model a file's reference names (None if it names none)."""
    if not reference.startswith(b"zoo:"):
        return None
    name, slash, quality = reference[4:].decode("utf-8", "replace").partition("/")
    if slash:
        raise SclcError(f"this file was written by the retired fixed-rate model '{name}' quality {quality}, "
                        f"which this sclc no longer ships; decode it with sclc 0.1 or pass --model CHECKPOINT")
    return resolve(name)
