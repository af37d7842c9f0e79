"""Stretch a variable-rate model's quality gains around their middle, so qualities 1..8 span more rate.

    python tools/stretch_gains.py SRC DST FACTOR

SRC: a codec file or a training checkpoint (anything with a ``state_dict`` holding
``quality_gain.log_gain`` / ``log_inverse_gain``); DST gets the same file with both log-gain
tables scaled by FACTOR about their mean level. Why: for MSE the best quantisation step scales like
1/sqrt(lambda), so a lambda range of R wants a step span of sqrt(R); gains started for a narrower
range barely move at Adam's lr (about lr per step), and a model trained on a wider range keeps the
narrow span (round 9: log gains within 0.05 of where they started). Stretching the tables moves
each quality along the model's own rate-distortion curve (measured in RESULTS.md, round 10);
training then refines them (``train.gain_lr_scale``).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import torch

GAIN_TABLES = ("quality_gain.log_gain", "quality_gain.log_inverse_gain")


def stretch(state_dict: dict, factor: float) -> int:
    """Scale every gain table about its mean level in place; returns how many tables it found."""
    found = 0
    for key, table in state_dict.items():
        if key.endswith(GAIN_TABLES):
            middle = table.float().mean(0, keepdim=True)
            state_dict[key] = (middle + (table.float() - middle) * factor).to(table.dtype)
            found += 1
    return found


def main() -> int:
    from sclc.imageio import atomic_write

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("factor", type=float)
    args = parser.parse_args()
    if not args.factor > 0:
        parser.exit(2, f"error: FACTOR must be positive (got {args.factor:g})\n")
    try:
        # Codec files and training checkpoints both load as plain tensors: no pickled code runs.
        checkpoint = torch.load(args.src, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        parser.exit(2, f"error: cannot read {args.src}: {str(error).splitlines()[0] if str(error) else type(error).__name__}\n")
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        parser.exit(2, f"error: {args.src} has no state_dict\n")
    if not stretch(checkpoint["state_dict"], args.factor):
        parser.exit(2, f"error: {args.src} has no quality gains (not a gained variable-rate model)\n")
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    atomic_write(args.dst, buffer.getvalue())
    print(f"{args.dst}: quality gains stretched {args.factor:g}x about their middle")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
