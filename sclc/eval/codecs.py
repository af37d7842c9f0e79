"""Classic image codecs behind one interface: ``encode(rgb, setting) -> bytes``, ``decode(bytes) -> rgb``.

Found here: JPEG, WebP, AVIF (libaom) and JPEG 2000 through Pillow; JPEG XL through imagecodecs;
HEVC (x265, 4:4:4 intra) through ffmpeg and AVIF with AV1's screen-content tools through avifenc
when those command-line tools are installed. A codec whose library or tool is missing reports why
and is skipped. No VVC encoder is obtainable here.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, features


@dataclass(frozen=True)
class ClassicCodec:
    name: str
    settings: tuple  # the quality knob from low to high rate
    setting_name: str
    encode: Callable[[np.ndarray, object], bytes]
    decode: Callable[[bytes], np.ndarray]
    available: Callable[[], str | None]  # None when usable, else the reason it is not


def _pillow(fmt: str, **options) -> tuple[Callable, Callable]:
    def encode(rgb, setting):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format=fmt, **{**options, **_knob(fmt, setting)})
        return buffer.getvalue()

    def decode(data):
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))

    return encode, decode


def _knob(fmt: str, setting) -> dict:
    if fmt == "JPEG2000":
        return {"quality_mode": "rates", "quality_layers": [setting]}
    return {"quality": setting}


def _pillow_feature(feature: str) -> Callable[[], str | None]:
    return lambda: None if features.check(feature) else f"Pillow was built without {feature}"


def _jxl_encode(rgb, distance):
    import imagecodecs

    return imagecodecs.jpegxl_encode(rgb, distance=distance, effort=7)


def _jxl_decode(data):
    import imagecodecs

    return imagecodecs.jpegxl_decode(data)[..., :3]


def _jxl_available():
    try:
        import imagecodecs
    except ImportError:
        return "imagecodecs is not installed (pip install imagecodecs)"
    return None if imagecodecs.JPEGXL.available else "imagecodecs was built without JPEG XL"


def _tool_codec(encode_cmd, decode_cmd, suffix):
    """Codecs run as command-line tools on temporary files."""

    def encode(rgb, setting):
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "in.png", Path(tmp) / f"out{suffix}"
            Image.fromarray(rgb).save(src)
            subprocess.run(encode_cmd(src, dst, setting), check=True, capture_output=True)
            return dst.read_bytes()

    def decode(data):
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / f"in{suffix}", Path(tmp) / "out.png"
            src.write_bytes(data)
            subprocess.run(decode_cmd(src, dst), check=True, capture_output=True)
            with Image.open(dst) as image:
                return np.asarray(image.convert("RGB"))

    return encode, decode


def _ffmpeg_x265_available():
    if not shutil.which("ffmpeg"):
        return "ffmpeg is not installed (apt-get install ffmpeg)"
    encoders = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    return None if "libx265" in encoders else "ffmpeg has no libx265 encoder"


_hevc = _tool_codec(
    lambda src, dst, crf: ["ffmpeg", "-y", "-loglevel", "error", "-i", str(src), "-c:v", "libx265",
                           "-pix_fmt", "yuv444p", "-preset", "medium", "-x265-params",
                           f"crf={crf}:keyint=1:log-level=error", "-f", "hevc", str(dst)],
    lambda src, dst: ["ffmpeg", "-y", "-loglevel", "error", "-f", "hevc", "-i", str(src), "-pix_fmt", "rgb24",
                      str(dst)],
    ".hevc")


def _avif_quantizer(quality) -> str:
    """libavif's own quality -> quantizer map (0..100 -> 63..0). Passed as --min/--max because
    Debian 12's avifenc 0.11 has no -q (found 2026-11-28); both kinds of avifenc take these."""
    return str((int(100 - quality) * 63 + 50) // 100)


_avif_screen = _tool_codec(
    lambda src, dst, q: ["avifenc", "--min", _avif_quantizer(q), "--max", _avif_quantizer(q), "-s", "6",
                         "-y", "444", "-a", "tune-content=screen", str(src), str(dst)],
    lambda src, dst: ["avifdec", str(src), str(dst)],
    ".avif")


def _tools_available(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    return (lambda: None) if not missing else (lambda: f"{', '.join(missing)} not installed (apt-get install libavif-bin)")


QUALITIES = (10, 20, 35, 50, 70, 90)

CODECS: dict[str, ClassicCodec] = {
    # 4:4:4 where the format allows it: chroma subsampling smears coloured text and UI edges.
    "jpeg": ClassicCodec("jpeg", QUALITIES, "quality", *_pillow("JPEG", optimize=True, subsampling=0),
                         _pillow_feature("jpg")),
    "webp": ClassicCodec("webp", QUALITIES, "quality", *_pillow("WEBP", method=6), _pillow_feature("webp")),  # 4:2:0 only
    "avif": ClassicCodec("avif", (20, 35, 50, 65, 80, 90), "quality", *_pillow("AVIF", speed=6, subsampling="4:4:4"),
                         _pillow_feature("avif")),
    "jpeg2000": ClassicCodec("jpeg2000", (200, 100, 50, 25, 12, 6), "compression ratio",
                             *_pillow("JPEG2000", irreversible=True), _pillow_feature("jpg_2000")),
    "jpegxl": ClassicCodec("jpegxl", (8.0, 4.0, 2.0, 1.0, 0.5, 0.25), "distance", _jxl_encode, _jxl_decode,
                           _jxl_available),
    "hevc": ClassicCodec("hevc", (45, 40, 35, 30, 25, 20), "crf", *_hevc, _ffmpeg_x265_available),
    "avif-screen": ClassicCodec("avif-screen", (20, 35, 50, 65, 80, 90), "quality", *_avif_screen,
                                _tools_available("avifenc", "avifdec")),
}


ALIASES = {"jxl": "jpegxl", "jpg": "jpeg", "j2k": "jpeg2000", "jp2": "jpeg2000", "h265": "hevc"}


def resolve(names: list[str]) -> tuple[list[ClassicCodec], list[str]]:
    """(usable codecs, messages about the known ones skipped because a library or tool is
    missing). An unknown name is an error: a typo must not quietly drop a curve."""
    import difflib

    from sclc.errors import SclcError

    usable, skipped, seen = [], [], set()
    for name in names:
        codec = CODECS.get(ALIASES.get(name.lower(), name.lower()))
        if codec is None:
            close = difflib.get_close_matches(name, [*CODECS, *ALIASES], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SclcError(f"unknown codec '{name}'{hint} — known: {', '.join(CODECS)}; aliases: "
                            f"{', '.join(f'{a}={c}' for a, c in ALIASES.items())}")
        if codec.name in seen:
            continue
        seen.add(codec.name)
        reason = codec.available()
        if reason:
            skipped.append(f"skipping {name}: {reason}")
        else:
            usable.append(codec)
    return usable, skipped
