"""Which autocast a run gets: bf16 only where the device computes it natively.

bf16 autocast made a training step 1.29x faster on an AVX-512 BF16 CPU, and 20x slower on an
AVX2-only one (1.0 s in float32, 20.5 s in bf16 for the shipped size, batch 8 x 128^2, one
thread: `benchmarks/train_step.py`), where every bf16 operation is emulated. ``train.amp = "auto"``
picks bf16 only where it pays; an explicit ``"bf16"`` is honoured with a warning where it does not.
"""

from __future__ import annotations

from pathlib import Path

import torch

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the CPU's flags include a bf16 instruction set (Linux; False where unknown)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return any(flag in line.split() for flag in CPU_BF16_FLAGS)
    return False


def native_bf16(device: str) -> bool:
    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return cpu_has_native_bf16()


def resolve_amp(requested: str, device: str) -> tuple[str, str | None]:
    """(the autocast to use, a one-line note for the log or None)."""
    if requested == "off":
        return "off", None
    native = native_bf16(device)
    if requested == "auto":
        mode = "bf16" if native else "off"
        return mode, f"train.amp = auto: {'bf16' if native else 'float32'} on {device}"
    if not native:
        return "bf16", (f"WARNING: train.amp = bf16 on a {device} without native bf16 "
                        f"({'/'.join(CPU_BF16_FLAGS)} absent): it is emulated and can be 20x slower "
                        f"than float32 here; use train.amp = \"auto\" or \"off\"")
    return "bf16", None
