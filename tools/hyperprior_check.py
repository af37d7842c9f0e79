"""How much does the hyperprior carry? Per image: z's share of the rate, y's rate with z_hat and
with z_hat replaced by its medians (no hyperprior information at all), and y's rate per slice.

    python tools/hyperprior_check.py MODEL [--images DIR] [--every 8] [--count 4] [--crop 256] [--q 0.5]

MODEL: a codec checkpoint or a zoo name (training checkpoints: `sclc export` first). If y costs
the same without z, the hyperprior (and the decoder prior recovered from z_hat) is inert.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

import torch


@contextlib.contextmanager
def median_z(backbone):
    """z_hat = the entropy bottleneck's medians everywhere; z's likelihoods unchanged."""
    bottleneck, original = backbone.entropy_bottleneck, backbone.entropy_bottleneck.forward
    medians = bottleneck._get_medians().reshape(1, -1, 1, 1)
    bottleneck.forward = lambda z, training=None: (medians.expand_as(z).clone(), original(z)[1])
    try:
        yield
    finally:
        bottleneck.forward = original


def bits_per_pixel(likelihoods: torch.Tensor, pixels: int) -> float:
    return float(-torch.log2(likelihoods).sum()) / pixels


def main() -> int:
    from sclc.resolve import load_model
    from sclc.data.folder import list_images
    from sclc.imageio import centre_crop, load_rgb, rgb_to_tensor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--images", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data/sci/dev")
    parser.add_argument("--every", type=int, default=8)
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--q", type=float, default=0.5, help="quality-map value for variable-rate models")
    args = parser.parse_args()
    model = load_model(args.model).model.eval()
    backbone = model.backbone
    print("image                          bpp_y   bpp_z  z share  bpp_y without z  y per slice")
    totals = torch.zeros(3)  # bpp_y, bpp_z, bpp_y without z, summed over the images
    for path in list_images(args.images)[:: args.every][: args.count]:
        x = rgb_to_tensor(centre_crop(load_rgb(path), args.crop))
        pixels = x.shape[-2] * x.shape[-1]
        q = torch.full_like(x[:, :1], args.q) if model.rate is not None else None
        with torch.no_grad():
            mask = model.text_mask(x)
            out = model(x, mask, q)
            with median_z(backbone):
                without = model(x, mask, q)
        y, z = out["likelihoods"]["y"], out["likelihoods"]["z"]
        slices = (-torch.log2(y)).sum((0, 2, 3)).reshape(getattr(backbone, "num_slices", 1), -1).sum(1) / pixels
        bpp_y, bpp_z = bits_per_pixel(y, pixels), bits_per_pixel(z, pixels)
        bpp_without = bits_per_pixel(without["likelihoods"]["y"], pixels)
        totals += torch.tensor([bpp_y, bpp_z, bpp_without])
        print(f"{path.stem[:30]:30} {bpp_y:.4f}  {bpp_z:.4f}  {100 * bpp_z / (bpp_y + bpp_z):5.2f} %  "
              f"{bpp_without:.4f}           {' '.join(f'{float(s):.4f}' for s in slices)}")
    y_sum, z_sum, without_sum = totals.tolist()
    if y_sum:  # the pooled share: z's bits over all bits of these images (equal-size crops)
        print(f"{'all images':30} z share {100 * z_sum / (y_sum + z_sum):.2f} %, "
              f"y +{100 * (without_sum / y_sum - 1):.0f} % without z_hat")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
