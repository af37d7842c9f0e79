"""Memory a decode needs, estimated before anything is allocated.

Weights: 4 bytes per parameter and buffer. Activations: the widest feature map (the most output
channels of any convolution) at a quarter of the padded pixels (after the first stride-2
layer), times four for the layer's input, output and workspace such as window attention.
A guard, not a forecast: measured against the growth of peak RSS while decoding, it was 1.1-1.2x
for sci-tiny (512 and 1536 pixel squares) and 4.4x for the reference-size backbone (N=192, M=320)
at 768x768.
"""

from __future__ import annotations

import torch
import torch.nn as nn

_BYTES = 4
_LIVE_MAPS = 4
# Entropy-decoder lists and zero padding (sclc.codec.pad_streams) per coded symbol.
SYMBOL_BYTES = 8 + 24


def parameter_bytes(model: nn.Module) -> int:
    return _BYTES * sum(t.numel() for t in (*model.parameters(), *model.buffers()))


def widest(model: nn.Module) -> int:
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    return max((m.out_channels for m in convs), default=64)


def padded_size(model: nn.Module, height: int, width: int) -> tuple[int, int]:
    """The image's size once padded to the stride of ``model`` (a PriorGuidedCodec)."""
    stride = model.backbone.stride
    return height + (-height) % stride, width + (-width) % stride


def max_symbols(model: nn.Module, height: int, width: int) -> int:
    """An upper bound on the entropy-coded symbols: every latent, as wide as the widest layer."""
    shapes = model.backbone.latent_shapes(*padded_size(model, height, width)).values()
    return widest(model) * sum(h * w for h, w in shapes)


def decode_bytes(model: nn.Module, height: int, width: int) -> int:
    padded_h, padded_w = padded_size(model, height, width)
    activations = _LIVE_MAPS * _BYTES * widest(model) * padded_h * padded_w // 4
    return parameter_bytes(model) + activations + SYMBOL_BYTES * max_symbols(model, height, width)


def refine_bytes(model: nn.Module, height: int, width: int) -> int:
    """Encoder-side refinement keeps the decoder side's activations for its backward pass: twice a
    decode's estimate (measured for `sci` at 768x768: 1.04 GB of peak RSS growth, estimate 1.19 GB)."""
    return 2 * decode_bytes(model, height, width)


class TooLarge(Exception):
    pass


def fake_build(build, max_bytes: int, max_tensors: int = 20_000):
    """Run ``build()`` on fake tensors: shapes and parameter counts without memory. Stops as soon
    as the weights pass ``max_bytes`` or the tensors ``max_tensors`` (raising :class:`TooLarge`),
    so a spec asking for millions of layers costs no more than one asking for a few."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.nn.modules.module import register_module_buffer_registration_hook, \
        register_module_parameter_registration_hook

    seen = {"bytes": 0, "tensors": 0}

    def count(module, name, tensor):
        if tensor is not None:
            seen["bytes"] += _BYTES * tensor.numel()
            seen["tensors"] += 1
            if seen["bytes"] > max_bytes:
                raise TooLarge(f"its weights alone are over the limit of {max_bytes / 1e9:.1f} GB")
            if seen["tensors"] > max_tensors:
                raise TooLarge(f"its model has over {max_tensors} weight tensors")

    handles = [register_module_parameter_registration_hook(count), register_module_buffer_registration_hook(count)]
    try:
        with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
            return build()
    finally:
        for handle in handles:
            handle.remove()
