"""Coding speed of the shipped models on a generated 1280x720 screenshot (2 threads).

    python benchmarks/zoo_speed.py [--models sci wacnn] [--quality 6] [--repeat 3] [--size 1280x720] [--refine STEPS]

Prints, per model: the text prior's seconds (its detector on the image; 0 for a model without
one), encode seconds including it, and decode seconds; medians over ``--repeat`` runs after one
warm-up. ``--refine STEPS`` times encoder-side refinement (sclc/refine.py) too. Figures for README
and RESULTS.md, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def median_seconds(fn, repeat: int) -> tuple[float, object]:
    result = fn()  # warm-up: lazy layouts, CDF tables
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    from sclc.resolve import load_model
    from sclc.codec import compress, decompress
    from sclc.data.synthetic import render
    from sclc.imageio import prepare_image
    from sclc.quality import DEFAULT_QUALITY

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["sci", "wacnn"])
    parser.add_argument("--quality", type=float, default=DEFAULT_QUALITY)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--refine", type=int, default=0, metavar="STEPS")
    args = parser.parse_args()
    torch.set_num_threads(2)
    width, height = map(int, args.size.split("x"))
    image = render(0, width, height).image
    x = prepare_image(image).tensor
    print(f"{width}x{height} generated screenshot, {torch.get_num_threads()} threads, quality {args.quality:g}"
          + (f", {args.refine} refinement steps" if args.refine else ""))
    print(f"{'model':<10} {'text prior s':>12} {'encode s':>9} {'decode s':>9} {'bytes':>8} {'bpp':>7}")
    for name in args.models:
        loaded = load_model(name, quality=args.quality, refine_steps=args.refine)
        net = loaded.model.eval()
        with torch.no_grad():
            prior_s, _ = median_seconds(lambda: net.text_mask(x), args.repeat)
        encode_s, data = median_seconds(lambda: compress(image, loaded), args.repeat)
        decode_s, _ = median_seconds(lambda: decompress(data, loaded), args.repeat)
        print(f"{name:<10} {prior_s:>12.3f} {encode_s:>9.3f} {decode_s:>9.3f} {len(data):>8} "
              f"{8 * len(data) / (width * height):>7.4f}")


if __name__ == "__main__":
    main()
