"""Where does a WACNN codec's quality stop rising? PSNR with y rounded (as coded) and with y left
continuous (infinite rate: the transforms' own ceiling), at several quality-map values.

    python tools/ceiling_check.py MODEL [--images DIR] [--every 4] [--count 6] [--crop 512]

MODEL: a codec or training checkpoint, or a zoo name. When the rounded PSNR at the top quality already meets
the continuous one, more bits cannot buy quality: the analysis/synthesis transforms (their width,
the latent's channels M, their training) cap the rate-distortion curve, not the entropy model.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

import torch

QS = (0.0, 0.5, 1.0)


@contextlib.contextmanager
def continuous_y():
    """WACNN's y_hat = y: its straight-through rounding replaced by the identity."""
    from sclc_plugins.backbones import wacnn

    original = wacnn.ste_round
    wacnn.ste_round = lambda t: t
    try:
        yield
    finally:
        wacnn.ste_round = original


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def main() -> int:
    from sclc.checkpoint import load_any_checkpoint
    from sclc.data.folder import list_images
    from sclc.imageio import centre_crop, load_rgb, rgb_to_tensor
    from sclc.resolve import load_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--images", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data/sci/dev")
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--crop", type=int, default=512)
    args = parser.parse_args()
    # a file is read as it is (codec or training checkpoint, whatever its lambda range); a name from the zoo
    model = (load_any_checkpoint(args.model) if Path(args.model).is_file() else load_model(args.model).model).float().eval()
    if type(model.backbone).__module__.rsplit(".", 1)[-1] != "wacnn":
        raise SystemExit("ceiling_check: only WACNN backbones (it replaces their rounding of y)")
    qs = QS if model.rate is not None else (None,)
    sums = {(rounded, q): 0.0 for rounded in (True, False) for q in qs}
    paths = list_images(args.images)[:: args.every][: args.count]
    for path in paths:
        x = rgb_to_tensor(centre_crop(load_rgb(path), args.crop))
        with torch.no_grad():
            mask = model.text_mask(x)
            for (rounded, q) in sums:
                quality = None if q is None else torch.full_like(x[:, :1], q)
                with contextlib.nullcontext() if rounded else continuous_y():
                    sums[rounded, q] += psnr(model(x, mask, quality)["x_hat"].clamp(0, 1), x)
    print(f"mean PSNR over {len(paths)} centre crops of {args.images}")
    print("quality map   y rounded (coded)   y continuous (ceiling)")
    for q in qs:
        print(f"{'-' if q is None else q:>11}   {sums[True, q] / len(paths):17.2f}   {sums[False, q] / len(paths):22.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
