"""Resource limits for untrusted input: how many pixels an image may have and how much memory
decoding one may claim. Both are checked from headers, before anything large is allocated.

``SCLC_MAX_PIXELS`` (default: Pillow's decompression-bomb limit) and ``SCLC_MAX_MEMORY_GB``
(default: 16 GB, or 80 % of physical memory if less) raise or lower them.
"""

from __future__ import annotations

import os

from sclc.errors import SclcError

# Pillow's Image.MAX_IMAGE_PIXELS: about 89.5 Mpx, a 9459 x 9459 image.
DEFAULT_MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3
DEFAULT_MAX_MEMORY_GB = 16.0


class LimitError(SclcError):
    """An input asks for more than a limit allows."""


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SclcError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise SclcError(f"{name}={raw!r} must be > 0")
    return value


def max_pixels() -> int:
    return int(_env_number("SCLC_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def _physical_memory() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def max_memory() -> int:
    """Bytes one decode may claim (weights plus activations)."""
    default = DEFAULT_MAX_MEMORY_GB * 1e9
    physical = _physical_memory()
    if physical:
        default = min(default, 0.8 * physical)
    return int(_env_number("SCLC_MAX_MEMORY_GB", default / 1e9) * 1e9)


def check_pixels(width: int, height: int, what: str) -> None:
    limit = max_pixels()
    if width * height > limit:
        raise LimitError(f"{what} is {width}x{height} ({width * height / 1e6:.1f} Mpx), over the limit of "
                         f"{limit / 1e6:.1f} Mpx; set SCLC_MAX_PIXELS to raise it")


def check_memory(needed: int, what: str) -> None:
    limit = max_memory()
    if needed > limit:
        raise LimitError(f"{what} would need about {needed / 1e9:.1f} GB, over the limit of {limit / 1e9:.1f} GB; "
                         f"set SCLC_MAX_MEMORY_GB to raise it")
