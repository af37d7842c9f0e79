"""The model spec a .sclc file may carry, and what a decoder accepts of it.

A file is untrusted, so its spec may name anything. The decoder keeps only what fixes the
decoder's weights (backbone, structural prior, guidance, conditioning block, and the seed that draws
the weights), replaces the text detector by ``none``, drops the loss and the training settings,
and refuses strings that are not plain words, file paths above all: decoding never opens a file
that a stranger names. The encoder embeds exactly this decoder-only spec.
"""

from __future__ import annotations

import json
import math
import re
import zlib

from sclc.errors import SclcError

PREFIX = b"spec:"
# "epg": guidance "epg" as specs spell it (sclc.spec.OLD_GUIDANCE); "guidance": any other.
DECODER_KEYS = ("name", "seed", "backbone", "structural_prior", "guidance", "epg", "block", "variable_rate")
MAX_JSON = 1 << 20  # a real spec is a few hundred bytes; this stops zlib bombs
_WORD = re.compile(r"[A-Za-z0-9_+-]{1,64}")
_MAX_INT = 1 << 31  # seeds; widths and counts are bounded by the memory limit


class EmbeddedSpecError(SclcError):
    """The spec inside a file is unreadable or asks for something a decoder must not do."""


def decoder_spec(data: dict) -> dict:
    """The part of a spec's plain data that decoding needs, checked to hold no paths."""
    if not isinstance(data, dict):
        raise EmbeddedSpecError("the embedded model spec is not a table")
    kept = {key: data[key] for key in DECODER_KEYS if key in data}
    name = kept.get("name", "")
    if not isinstance(name, str) or len(name) > 200:
        raise EmbeddedSpecError("the embedded model spec has an unreadable name")
    for key, value in kept.items():
        if key not in ("name", "seed") and not isinstance(value, dict):
            raise EmbeddedSpecError(f"the embedded model spec's {key} is not a table")
        if key != "name":
            _check_plain(value, key)
    return {**kept, "text_prior": {"name": "none"}}


def _check_plain(value, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
    elif isinstance(value, str):
        if not _WORD.fullmatch(value):
            raise EmbeddedSpecError(f"the embedded model spec sets {where} = {value[:40]!r}: only plain names are "
                                    f"allowed there (no paths); pass --model to decode with a model you trust")
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if abs(value) > _MAX_INT:
            raise EmbeddedSpecError(f"the embedded model spec sets {where} = {value}, out of range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise EmbeddedSpecError(f"the embedded model spec sets {where} = {value}, not a finite number")
    else:
        raise EmbeddedSpecError(f"the embedded model spec sets {where} to a {type(value).__name__}")


def pack(spec_data: dict) -> bytes:
    return PREFIX + zlib.compress(json.dumps(spec_data, sort_keys=True).encode(), 9)


def unpack(reference: bytes) -> dict:
    """The embedded spec's plain data, as the encoder wrote it (not yet reduced or checked)."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(reference[len(PREFIX):], MAX_JSON)
        if inflater.unconsumed_tail:
            raise EmbeddedSpecError(f"the embedded model spec is over {MAX_JSON} bytes unpacked")
        data = json.loads(text)
    except (zlib.error, ValueError, RecursionError):
        raise EmbeddedSpecError("the file's embedded model spec is unreadable") from None
    if not isinstance(data, dict):
        raise EmbeddedSpecError("the embedded model spec is not a table")
    return data
