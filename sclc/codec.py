"""Image <-> .sclc bytes with a built model: ``compress(image, model)`` and ``decompress(data, model)``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from sclc import container, footprint, limits
from sclc.container import FormatError, Header
from sclc.determinism import fixed_threads
from sclc.errors import SclcError
from sclc.imageio import MODE_GRAY, MODE_RGB, prepare_image, to_pil
from sclc.model import PriorGuidedCodec
from sclc.quality import quality_map as quality_map_for
from sclc.refine import Refinement
from sclc.resolve import LoadedModel, load_model, model_from_reference


@dataclass
class Encoded:
    data: bytes
    notes: tuple[str, ...]


def _as_loaded(model, decoding: bool = False) -> LoadedModel:
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, PriorGuidedCodec):
        return LoadedModel(model, b"", "model object")
    return load_model(model, decoding=decoding)


def _as_image(image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, torch.Tensor):
        return to_pil(image)
    if isinstance(image, np.ndarray):
        return Image.fromarray(image)
    raise SclcError(f"cannot compress a {type(image).__name__}: pass a PIL image, a uint8 array or a tensor")


def _rate_inputs(loaded: LoadedModel, x: torch.Tensor, text_mask, quality_map):
    """(text mask, quality map) for ``compress``: the map is the user's, or the loaded model's
    quality everywhere (raised on the text mask by its text quality); None for fixed-rate models."""
    net = loaded.model
    if net.rate is None:
        if quality_map is not None:
            raise SclcError(f"{loaded.description} is a fixed-rate model: a quality map needs a variable-rate model")
        return text_mask, None
    if quality_map is not None:
        return text_mask, _checked_map(quality_map, x.shape[-2:])
    if loaded.text_quality and text_mask is None:
        text_mask = net.text_mask(x)  # computed once: the prior map reuses it
    quality = net.rate.default_quality() if loaded.quality is None else loaded.quality
    try:
        return text_mask, quality_map_for(net.rate, x.shape[-2:], quality, text_mask, loaded.text_quality)
    except ValueError as exc:
        raise SclcError(f"{loaded.description}: {exc}") from None


def _checked_map(quality_map: torch.Tensor, size) -> torch.Tensor:
    q = torch.as_tensor(quality_map, dtype=torch.float32)
    q = q.reshape(1, 1, *q.shape[-2:])
    if tuple(q.shape[-2:]) != tuple(size):
        raise SclcError(f"the quality map is {q.shape[-1]}x{q.shape[-2]}, the image {size[1]}x{size[0]}")
    if not bool(torch.isfinite(q).all()) or q.min() < 0 or q.max() > 1:
        raise SclcError("quality map values must lie in [0, 1] (0: the model's lowest rate, 1: its highest)")
    return q


def encode(image, model, text_mask: torch.Tensor | None = None, quality_map: torch.Tensor | None = None,
           progress=None) -> Encoded:
    """``quality_map``: (H, W) values in [0, 1] for a variable-rate model, instead of its quality;
    ``progress(step, steps)``: called after each refinement step (a refining model only)."""
    loaded = _as_loaded(model)
    net = loaded.model.eval()
    prepared = prepare_image(_as_image(image))
    x = prepared.tensor
    h, w = x.shape[-2:]
    refinement = None
    if loaded.refine_steps:
        limits.check_memory(footprint.refine_bytes(net, h, w), f"refining the latents of this {w}x{h} image")
        refinement = Refinement(loaded.refine_steps, rounding=loaded.refine_rounding, progress=progress)
    with torch.no_grad(), fixed_threads():
        text_mask, q = _rate_inputs(loaded, x, text_mask, quality_map)
        out = net.compress(x, text_mask, q, refinement)
    stride = net.backbone.stride
    pad_h, pad_w = (-h) % stride, (-w) % stride
    header = Header(
        model_id=loaded.identity(), height=h, width=w, mode=prepared.mode, pad_h=pad_h, pad_w=pad_w,
        z_shape=tuple(int(s) for s in out["shape"]), y_shape=net.backbone.latent_shapes(h + pad_h, w + pad_w)["y"],
        index_crc=int(out.get("index_crc", 0)), reference=loaded.reference)
    strings = [s[0] for s in out["strings"]]
    return Encoded(container.pack(header, strings), prepared.notes)


def compress(image, model, text_mask: torch.Tensor | None = None, quality_map: torch.Tensor | None = None) -> bytes:
    """Compress a PIL image / uint8 array / (3,H,W) tensor into .sclc bytes."""
    return encode(image, model, text_mask, quality_map).data


def pad_streams(strings: list[bytes], symbols: int) -> list[bytes]:
    """Zero bytes after each entropy-coded string. CompressAI's rANS decoder reads without bounds
    checks, at most 4 bytes per renormalisation (one per symbol, plus a few for the rare
    out-of-range values it codes in bypass mode); a short string that claims many symbols made it
    read, and crash, far past its end. Twice that per symbol leaves a margin; an honest stream
    never reaches the zeros, and nothing past its end changes what it decodes to."""
    need = 8 * symbols + 65536
    return [s + bytes(need - len(s)) if len(s) < need else s for s in strings]


def _coded_strings(net: PriorGuidedCodec) -> int:
    """One string per entropy model, plus the side strings the backbone declares."""
    from compressai.entropy_models import EntropyModel

    return sum(isinstance(m, EntropyModel) for m in net.backbone.modules()) + net.backbone.side_strings


def _check_layout(header: Header, net: PriorGuidedCodec) -> None:
    """The file's padding and latent shapes are what the model's backbone makes of its image size:
    a 1-pixel image must not claim a 65536-pixel decode."""
    stride = net.backbone.stride
    if (header.pad_h, header.pad_w) != ((-header.height) % stride, (-header.width) % stride):
        raise FormatError("malformed sclc file (padding does not match the image size)")
    shapes = net.backbone.latent_shapes(header.height + header.pad_h, header.width + header.pad_w)
    if (tuple(shapes["y"]), tuple(shapes["z"])) != (header.y_shape, header.z_shape):
        raise FormatError("malformed sclc file (latent shapes do not match the image size)")


def decompress(data: bytes, model=None) -> Image.Image:
    """Decode .sclc bytes. ``model`` may be omitted when the file names or embeds its model.

    Everything the file claims is checked before it costs anything: sizes against each other and
    the pixel limit (container), the model against the memory limit, the string count against
    the model."""
    header, strings = container.unpack(data)
    height, width = header.height, header.width
    if model is None:
        loaded = model_from_reference(header.reference, height, width)
    else:
        loaded = _as_loaded(model, decoding=True)
    net = loaded.model.eval()
    expected = loaded.identity()
    if expected != header.model_id:
        raise FormatError(f"this file was written by model {header.model_id.hex()}, "
                          f"not by the given model ({expected.hex()})")
    _check_layout(header, net)
    if len(strings) != _coded_strings(net):
        raise FormatError(f"malformed sclc file ({len(strings)} entropy-coded strings; this model writes "
                          f"{_coded_strings(net)})")
    limits.check_memory(footprint.decode_bytes(net, height, width), f"decoding this {width}x{height} file")
    strings = pad_streams(strings, footprint.max_symbols(net, height, width))
    try:
        with fixed_threads():
            out = net.decompress([[s] for s in strings], header.z_shape, size=(height, width),
                                 index_crc=header.index_crc)
    except (ValueError, RuntimeError, OverflowError) as exc:
        raise FormatError(f"cannot decode: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return to_pil(out["x_hat"], header.mode if header.mode in (MODE_RGB, MODE_GRAY) else MODE_RGB)
