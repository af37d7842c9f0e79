"""Bit-exact coding needs the same floating-point results on both sides.

Some CPU kernels (oneDNN 1x1 convolutions, some transposed convolutions) reduce in an order that
depends on the number of intra-op threads, so a decoder running with another thread count than
the encoder can differ in the last bit. All codec computations therefore run with one fixed thread
count, ``SCLC_CODEC_THREADS`` (default 2), whatever the caller's ``torch.set_num_threads`` is.
Encoder and decoder must use the same value; the entropy-index checksum in each file turns a
mismatch that matters for decoding into a clear error.
"""

import os
from contextlib import contextmanager

import torch


def codec_threads() -> int:
    value = os.environ.get("SCLC_CODEC_THREADS", "2")
    return max(1, int(value)) if value.isdigit() else 2


@contextmanager
def fixed_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(codec_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)
