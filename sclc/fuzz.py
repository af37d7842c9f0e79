"""Structure-aware mutations of .sclc files, for the fuzz tests and ``tools/fuzz_decoder.py``.

Random bytes stop at the CRC. Here a valid file is unpacked, its fields are changed the way an
attacker would change them (sizes, latent shapes, padding, the model reference and the embedded
spec inside it, string counts and contents), and it is packed again with a valid CRC, so every
mutant reaches the checks behind the checksum, and the entropy decoder when those pass.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import zlib

from sclc import container, embedded
from sclc.container import Header

_SIDES = (0, 1, 2, 63, 64, 65, 255, 256, 4095, 9459, 60000, 65535)
_INTS = (0, 1, -1, 2, 3, 7, 64, 4096, 8000, 1 << 20, 1 << 40, 10 ** 30)
_STRINGS = ("/etc/passwd", "/dev/zero", "../../x.pt", "~/.ssh/id_rsa", "C:\\x", "craft", "none", "", "x" * 300)


def mutate(data: bytes, rng: random.Random, reference: bool = True) -> bytes:
    """A mutant of the valid file ``data``; ``reference=False`` leaves the model reference alone."""
    header, strings = container.unpack(data)
    mutators = _MUTATORS + ((_reference,) * 4 if reference else ())
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        header, strings = rng.choice(mutators)(header, strings, rng)
    return container.pack(header, strings)


def _layout(header: Header) -> tuple[int, int] | None:
    """(stride, y per z) of the model that wrote ``header``, read from it rather than assumed;
    None once a mutation has left it nothing to read."""
    z = header.z_shape[0]
    if z < 1 or header.y_shape[0] < z or header.height + header.pad_h < z:
        return None
    return (header.height + header.pad_h) // z, header.y_shape[0] // z


def consistent(header: Header, height: int, width: int) -> Header:
    """``header`` (of a valid file) claiming a ``height`` x ``width`` image, every derived size agreeing."""
    stride, y_per_z = _layout(header) or (1, 1)
    pad_h, pad_w = (-height) % stride, (-width) % stride
    z = ((height + pad_h) // stride, (width + pad_w) // stride)
    return dataclasses.replace(header, height=height, width=width, pad_h=pad_h, pad_w=pad_w,
                               z_shape=z, y_shape=(y_per_z * z[0], y_per_z * z[1]))


def _u16(rng):
    return rng.choice((rng.randrange(1 << 16), rng.choice(_SIDES)))


def _size(header, strings, rng):
    height, width = max(1, _u16(rng)), max(1, _u16(rng))
    layout = _layout(header)
    stride = layout[0] if layout else 1
    if layout and rng.random() < 0.7 and height + (-height) % stride < 1 << 16 and width + (-width) % stride < 1 << 16:
        agreeing = consistent(header, height, width)
        if max(*agreeing.y_shape, *agreeing.z_shape) < 1 << 16:  # a mutated layout may not fit the fields
            return agreeing, strings
    return dataclasses.replace(header, height=height, width=width), strings


def _shapes(header, strings, rng):
    y_per_z = (_layout(header) or (1, rng.randrange(1, 8)))[1]
    z = (rng.randrange(0, 40), rng.randrange(0, 40))
    y = (y_per_z * z[0], y_per_z * z[1]) if rng.random() < 0.5 else (rng.randrange(0, 200), rng.randrange(0, 200))
    y = tuple(min(side, (1 << 16) - 1) for side in y)
    return dataclasses.replace(header, z_shape=z, y_shape=y), strings


def _pads(header, strings, rng):
    return dataclasses.replace(header, pad_h=_u16(rng), pad_w=rng.randrange(0, 128)), strings


def _fields(header, strings, rng):
    field = rng.choice(("mode", "model_id", "index_crc"))
    value = {"mode": rng.randrange(256), "model_id": rng.randbytes(8), "index_crc": rng.getrandbits(32)}[field]
    return dataclasses.replace(header, **{field: value}), strings


def _count(header, strings, rng):
    strings = list(strings)
    action = rng.choice(("drop", "duplicate", "add", "none", "many"))
    if action == "drop" and strings:
        strings.pop(rng.randrange(len(strings)))
    elif action == "duplicate" and strings:
        strings.insert(rng.randrange(len(strings) + 1), rng.choice(strings))
    elif action == "add":
        strings.append(rng.randbytes(rng.randrange(0, 64)))
    elif action == "none":
        strings = []
    else:
        strings = [rng.randbytes(rng.randrange(0, 8)) for _ in range(rng.randrange(3, 255))]
    return header, strings


def _content(header, strings, rng):
    if not strings:
        return header, strings
    strings = list(strings)
    i = rng.randrange(len(strings))
    s = bytearray(strings[i])
    action = rng.choice(("cut", "extend", "flip", "random", "empty", "ones"))
    if action == "cut":
        s = s[: rng.randrange(len(s) + 1)]
    elif action == "extend":
        s += rng.randbytes(rng.randrange(1, 256))
    elif action == "flip" and s:
        for _ in range(rng.randrange(1, 9)):
            s[rng.randrange(len(s))] ^= 1 << rng.randrange(8)
    elif action == "random":
        s = bytearray(rng.randbytes(rng.randrange(0, 2 * len(s) + 16)))
    elif action == "empty":
        s = bytearray()
    else:
        s = bytearray(b"\xff" * rng.randrange(1, 64))
    strings[i] = bytes(s)
    return header, strings


def _reference(header, strings, rng):
    ref = header.reference
    kind = rng.choice(("spec", "spec", "spec", "zoo", "bytes", "bomb", "deep", "bad-zlib", "empty"))
    if kind == "spec":
        ref = embedded.pack(_mutate_spec(_spec_of(ref), rng))
    elif kind == "zoo":
        name = rng.choice(("sci", "wacnn", "sci-tiny", "nope", "../../etc/passwd", "", "sci/3"))
        quality = rng.choice(("", "/1", "/3", "/0", "/99", "/-1", "/x", "/" + "3" * 30))
        ref = f"zoo:{name}{quality}".encode()
    elif kind == "bytes":
        ref = rng.randbytes(rng.randrange(0, 300))
    elif kind == "bomb":
        ref = _bomb()
    elif kind == "deep":
        ref = embedded.PREFIX + zlib.compress(b'{"a":' * 50000 + b"1" + b"}" * 50000)
    elif kind == "bad-zlib":
        ref = embedded.PREFIX + rng.randbytes(rng.randrange(0, 100))
    else:
        ref = b""
    return dataclasses.replace(header, reference=ref[:65535]), strings


@functools.lru_cache(maxsize=1)
def _bomb() -> bytes:
    """60 kB that inflate to 60 MB."""
    return embedded.PREFIX + zlib.compress(b"[" * (60 << 20), 9)


def _spec_of(reference: bytes) -> dict:
    try:
        return embedded.unpack(reference)
    except Exception:
        return {"name": "fuzz", "seed": 0, "backbone": {"name": "wacnn", "N": 16, "M": 20, "num_slices": 5,
                                                        "num_heads": 4}}


def _leaves(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path


def _mutate_spec(spec: dict, rng: random.Random) -> dict:
    spec = json.loads(json.dumps(spec))
    action = rng.choice(("value", "value", "value", "table", "drop", "backbone"))
    if action == "table":
        table = rng.choice(("text_prior", "train", "loss", "structural_prior", "block", "epg", "guidance",
                            "extra"))
        spec[table] = rng.choice(({"name": "craft", "weights": rng.choice(_STRINGS)}, {"data": "/etc"},
                                  {"name": rng.choice(_STRINGS)}, [], "x", 5))
    elif action == "drop" and spec:
        spec.pop(rng.choice(sorted(spec)))
    elif action == "backbone":
        spec["backbone"] = {"name": rng.choice(("wacnn", "hyperprior", "cheng2020-anchor", "mbt2018", "nope")),
                            **({"N": rng.choice(_INTS)} if rng.random() < 0.7 else {})}
    else:
        paths = [p for p in _leaves(spec) if p]
        if paths:
            *parents, key = rng.choice(paths)
            node = spec
            for part in parents:
                node = node[part]
            node[key] = rng.choice((rng.choice(_INTS), rng.choice(_STRINGS), None, 1.5, float("nan"), [1, 2],
                                    {"x": 1}, True))
    return spec


_MUTATORS = (_size, _size, _shapes, _pads, _fields, _count, _content, _content, _content)
