"""Pretrained codecs shipped inside the package: ``--model sci-tiny --quality 1..4``.

``pretrained/models.toml`` lists each file with its SHA-256; a file is checked before it is
loaded, so a damaged install fails with a clear message instead of decoding garbage. Nothing is
ever downloaded. How the models were trained and what they measure: ``pretrained/MODEL_CARD.md``.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sclc.errors import SclcError

DIRECTORY = Path(__file__).resolve().parent / "pretrained"
DEFAULT_QUALITY = 3


@dataclass(frozen=True)
class Pretrained:
    name: str
    quality: int
    lmbda: float
    file: str
    sha256: str
    summary: str = ""
    measured: dict | None = None  # mean bpp / PSNR / text PSNR on the evaluation set of the card

    @property
    def path(self) -> Path:
        return DIRECTORY / self.file

    @property
    def reference(self) -> bytes:
        """What a compressed file records so that it decodes without --model."""
        return f"zoo:{self.name}/{self.quality}".encode()


def catalogue() -> dict[str, dict[int, Pretrained]]:
    return _read_manifest(DIRECTORY / "models.toml")


@functools.lru_cache(maxsize=4)
def _read_manifest(manifest: Path) -> dict[str, dict[int, Pretrained]]:
    """Parsed once per process: every name lookup would otherwise re-read the file."""
    if not manifest.exists():
        return {}
    try:
        entries = tomllib.loads(manifest.read_text(encoding="utf-8")).get("model", [])
    except tomllib.TOMLDecodeError as exc:
        raise SclcError(f"{manifest} is damaged ({exc}); reinstall sclc") from None
    out: dict[str, dict[int, Pretrained]] = {}
    for entry in entries:
        model = Pretrained(**entry)
        out.setdefault(model.name, {})[model.quality] = model
    return out


def is_name(arg: str) -> bool:
    return arg in catalogue()


def resolve(name: str, quality: int | None = None) -> Pretrained:
    models = catalogue()
    if name not in models:
        known = ", ".join(sorted(models)) or "none installed"
        raise SclcError(f"unknown pretrained model '{name}' — pretrained models: {known}")
    quality = DEFAULT_QUALITY if quality is None else quality
    if quality not in models[name]:
        raise SclcError(f"{name} has no quality {quality} — qualities: {', '.join(map(str, sorted(models[name])))}")
    return models[name][quality]


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
    name, _, quality = reference[4:].decode("utf-8", "replace").rpartition("/")
    if not quality.isdigit():
        raise SclcError(f"the file names an unreadable pretrained model {reference!r}")
    return resolve(name, int(quality))
