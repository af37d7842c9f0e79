"""A model widened by `sclc widen` during training, against its start: estimated bpp and PSNR on
8 centre 256^2 crops of sci/dev at q = 0.1 and 0.9, and the share of y's bits in the channels past
the first ``--old-M`` (the new ones; 64 for the shipped models).

    python tools/new_channels_check.py CKPT [CKPT ...] [--old-M 64]   (codec or training checkpoints)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

DEV = Path(__file__).resolve().parents[1] / "../shared/data/sci/dev"


def main() -> int:
    from sclc.checkpoint import load_any_checkpoint
    from sclc.data.folder import list_images
    from sclc.imageio import centre_crop, load_rgb, rgb_to_tensor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--old-M", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)
    crops = [rgb_to_tensor(centre_crop(load_rgb(p), 256)) for p in list_images(DEV)[::8][:8]]
    for path in args.checkpoints:
        model = load_any_checkpoint(path).float().eval()
        for q in (0.1, 0.9):
            new_bits = all_bits = mse = 0.0
            for x in crops:
                with torch.no_grad():
                    out = model(x, quality_map=torch.full_like(x[:, :1], q))
                y_bits = -out["likelihoods"]["y"].log2()
                new_bits += float(y_bits[:, args.old_M:].sum())
                all_bits += float(y_bits.sum()) + float(-out["likelihoods"]["z"].log2().sum())
                mse += float(((out["x_hat"].clamp(0, 1) - x) ** 2).mean())
            psnr = 10 * torch.log10(torch.tensor(len(crops) / mse))
            print(f"{path} q={q}: bpp {all_bits / len(crops) / 256 ** 2:.4f}, PSNR (of the mean MSE) {psnr:.2f} dB, "
                  f"new channels {100 * new_bits / all_bits:.2f} % of the bits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
