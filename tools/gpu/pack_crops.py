"""Pack training crops for the device machine, where ../shared does not travel (64 MiB in all).

    python tools/gpu/pack_crops.py [--out .gpu_data/crops] [--per-image 12] [--crop 256]

Writes ``--per-image`` random non-blank crops of every image of sci/train and sci/train_shots as
lossless WebP (about 4 KB each: screen content compresses well), each with its EAST text mask as
``<stem>.mask.png`` (from the training mask cache, so the device needs no detector pass), and
the centre crop of every ``--val-every``-th sci/dev image for validation. Deterministic (seed 0).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from sclc.builder import build_model
from sclc.data.folder import list_images
from sclc.data.mask_cache import MaskCache
from sclc.spec import load_spec
from sclc.data.stream import luma_std
from sclc.imageio import atomic_write, load_rgb

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("../shared/data/sci/train", "../shared/data/sci/train_shots")


def crops_of(rgb: np.ndarray, count: int, size: int, rng: np.random.Generator):
    """(top, left) of ``count`` random non-blank crops."""
    h, w = rgb.shape[:2]
    if h < size or w < size:
        return
    for _ in range(count):
        for _ in range(8):  # redraw blank crops, as training does
            top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            if luma_std(rgb[top:top + size, left:left + size]) >= 2:
                break
        yield top, left


def save(out: Path, stem: str, rgb: np.ndarray, mask: np.ndarray | None) -> int:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "WEBP", lossless=True, quality=100, method=4)
    atomic_write(out / f"{stem}.webp", buffer.getvalue())
    size = len(buffer.getvalue())
    if mask is not None:
        buffer = io.BytesIO()
        Image.fromarray(mask * 255).save(buffer, "PNG", optimize=True)
        atomic_write(out / f"{stem}.mask.png", buffer.getvalue())
        size += len(buffer.getvalue())
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / ".gpu_data"))
    parser.add_argument("--per-image", type=int, default=12)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--val-every", type=int, default=4)
    parser.add_argument("--spec", default=str(ROOT / "examples" / "zoo" / "sci.toml"),
                        help="its text prior and mask cache give the masks")
    args = parser.parse_args()
    out = Path(args.out)
    (out / "crops").mkdir(parents=True, exist_ok=True)
    (out / "val").mkdir(parents=True, exist_ok=True)
    spec = load_spec(args.spec)
    masks = MaskCache(ROOT / spec.train.mask_cache, spec.text_prior.name, spec.text_prior.params,
                      build_model(spec).text_prior)
    rng = np.random.default_rng(0)
    count = size = 0
    for source in SOURCES:
        for path in list_images(ROOT / source):
            rgb = load_rgb(path)
            mask = masks(rgb, path)
            for i, (top, left) in enumerate(crops_of(rgb, args.per_image, args.crop, rng)):
                window = (slice(top, top + args.crop), slice(left, left + args.crop))
                size += save(out / "crops", f"{path.parent.name}_{path.stem}_{i:02d}", rgb[window], mask[window])
                count += 1
    for path in list_images(ROOT / "../shared/data/sci/dev")[::args.val_every]:
        rgb = load_rgb(path)
        h, w = rgb.shape[:2]
        side = min(args.crop, h, w)
        top, left = (h - side) // 2, (w - side) // 2
        size += save(out / "val", path.stem, rgb[top:top + side, left:left + side], None)
    print(f"{count} training crops with masks and the sci/dev validation crops: {size / 2**20:.1f} MiB in {out}")


if __name__ == "__main__":
    main()
