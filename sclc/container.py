"""The .sclc file: one compressed image.

Layout (big-endian)::

    magic      4s   b"SCLC"
    version    B    format version (1)
    model_id   8s   first 8 bytes of the SHA-256 of the model's spec and weights
    height     I    original image height
    width      I    original image width
    mode       B    0 = RGB, 1 = grayscale (decoded back to one channel)
    pad_h      H    rows added at the bottom to reach the backbone's stride
    pad_w      H    columns added at the right
    z_h, z_w   H H  hyper-latent shape
    y_h, y_w   H H  latent shape
    index_crc  I    CRC-32 of the encoder's entropy-model indexes (detects encoder/decoder drift)
    ref_len    H    length of the model reference that follows (0 = none)
    reference  *    how to find the model without --model (e.g. an embedded seeded spec)
    n_strings  B    number of entropy-coded strings
    n x (len I, bytes)
    crc32      I    CRC-32 of everything above

Any truncation, bit flip or foreign file fails the CRC or a bounds check and raises
:class:`FormatError` before the entropy decoder sees a byte. The CRC only proves the bytes are
intact, not that they are honest: the header's sizes are checked against each other and against
the pixel limit (sclc.limits) before anything is allocated; the padding and latent shapes, which
depend on the model, are checked against its backbone once the model is known (sclc.codec).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from sclc import limits
from sclc.errors import SclcError

MAGIC = b"SCLC"
VERSION = 1
_FIXED = struct.Struct(">4sB8sIIBHHHHHHIH")
_U32 = struct.Struct(">I")
MAX_SIDE = 1 << 16


class FormatError(SclcError):
    """The bytes are not a valid .sclc stream for this sclc version."""


@dataclass(frozen=True)
class Header:
    model_id: bytes
    height: int
    width: int
    mode: int
    pad_h: int
    pad_w: int
    z_shape: tuple[int, int]
    y_shape: tuple[int, int]
    index_crc: int
    reference: bytes = b""


def pack(header: Header, strings: list[bytes]) -> bytes:
    if len(header.model_id) != 8:
        raise ValueError("model_id must be 8 bytes")
    if len(strings) > 255 or len(header.reference) > 65535:
        raise ValueError("too many strings or too long a model reference")
    body = _FIXED.pack(MAGIC, VERSION, header.model_id, header.height, header.width, header.mode,
                       header.pad_h, header.pad_w, *header.z_shape, *header.y_shape, header.index_crc,
                       len(header.reference))
    parts = [body, header.reference, bytes([len(strings)])]
    for s in strings:
        parts += [_U32.pack(len(s)), s]
    payload = b"".join(parts)
    return payload + _U32.pack(zlib.crc32(payload))


def unpack(data: bytes) -> tuple[Header, list[bytes]]:
    if len(data) < 4 or data[:4] != MAGIC:
        raise FormatError("not an sclc file (bad magic bytes)")
    if len(data) < 5:
        raise FormatError("truncated sclc file (no version)")
    if data[4] != VERSION:
        newer = "a newer" if data[4] > VERSION else "an unknown"
        raise FormatError(f"{newer} sclc format version {data[4]}; this sclc reads version {VERSION}")
    if len(data) < _FIXED.size + 1 + 4:
        raise FormatError(f"truncated sclc file ({len(data)} bytes)")
    payload, crc = data[:-4], _U32.unpack(data[-4:])[0]
    if zlib.crc32(payload) != crc:
        raise FormatError("corrupted or truncated sclc file (checksum mismatch)")
    (_, _, model_id, height, width, mode, pad_h, pad_w, z_h, z_w, y_h, y_w, index_crc,
     ref_len) = _FIXED.unpack_from(payload)
    offset = _FIXED.size
    reference = payload[offset: offset + ref_len]
    offset += ref_len
    if len(reference) != ref_len or offset >= len(payload):
        raise FormatError("malformed sclc file (model reference overruns the file)")
    count, offset = payload[offset], offset + 1
    strings = []
    for _ in range(count):
        if offset + 4 > len(payload):
            raise FormatError("malformed sclc file (string table overruns the file)")
        (length,) = _U32.unpack_from(payload, offset)
        offset += 4
        if offset + length > len(payload):
            raise FormatError("malformed sclc file (string overruns the file)")
        strings.append(payload[offset: offset + length])
        offset += length
    if offset != len(payload):
        raise FormatError("malformed sclc file (trailing bytes)")
    header = Header(model_id, height, width, mode, pad_h, pad_w, (z_h, z_w), (y_h, y_w), index_crc, reference)
    _check_geometry(header)
    return header, strings


def _check_geometry(h: Header) -> None:
    if not (1 <= h.height < MAX_SIDE and 1 <= h.width < MAX_SIDE) or h.mode not in (0, 1):
        raise FormatError("malformed sclc file (impossible image size or mode)")
    limits.check_pixels(h.width, h.height, "the file's image")
    limits.check_pixels(h.width + h.pad_w, h.height + h.pad_h, "the file's padded image")
