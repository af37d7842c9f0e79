"""BD-rate of the shipped models against JPEG and WebP sampled finely in their range.

    python examples/zoo/bd_fine.py [--work work_dirs/zoo] [--crops dev512_every4]

Reads the crops and ship.json that examples/zoo/ship.py wrote, codes the same crops with JPEG
(quality 5..21) and WebP (quality 0..7), where their PSNR meets the learned curves, and prints
BD-rates (Akima and PCHIP). The learned curves span about 1.5 dB, so the overlap with a classic
codec's curve stays under the usual 75 %: each number is over the overlapping PSNR interval only.
"""

from __future__ import annotations

import argparse
import json
import re
import warnings
from pathlib import Path

import bjontegaard as bd
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CLASSIC = {"jpeg": (5, 7, 9, 11, 13, 15, 18, 21), "webp": (0, 1, 2, 3, 5, 7)}


def learned_curve(results: dict, name: str) -> tuple[list[float], list[float]]:
    points = sorted((p["mean"]["bpp"], p["mean"]["psnr"]) for p in results["points"] if p["curve"] == name)
    return [r for r, _ in points], [d for _, d in points]


def classic_curve(codec, settings, crops) -> tuple[list[float], list[float]]:
    from sclc.imageio import load_rgb

    rates, psnrs = [], []
    for setting in settings:
        bpp, psnr = [], []
        for path in crops:
            rgb = load_rgb(path)
            data = codec.encode(rgb, setting)
            mse = ((rgb.astype(float) - codec.decode(data)) ** 2).mean()
            bpp.append(len(data) * 8 / (rgb.shape[0] * rgb.shape[1]))
            psnr.append(10 * np.log10(255**2 / mse))
        rates.append(float(np.mean(bpp)))
        psnrs.append(float(np.mean(psnr)))
    return rates, psnrs


def main() -> int:
    from sclc.eval.codecs import CODECS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "work_dirs" / "zoo")
    parser.add_argument("--crops", default="dev512_every4", help="the crops folder ship.py wrote in --work")
    args = parser.parse_args()
    results = json.loads((args.work / "ship.json").read_text())
    crops = sorted((args.work / args.crops).glob("*.png"))
    curves = {name: learned_curve(results, name) for name in ("sci", "wacnn")}
    for name, settings in CLASSIC.items():
        curves[name] = classic_curve(CODECS[name], settings, crops)
        print(name, " ".join(f"{r:.3f}/{d:.2f}" for r, d in zip(*curves[name])))
    for anchor in ("jpeg", "webp", "wacnn"):
        for test in ("sci", "wacnn"):
            if test == anchor:
                continue
            a, t = curves[anchor], curves[test]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                values = [bd.bd_rate(a[0], a[1], t[0], t[1], method=m, require_matching_points=False)
                          for m in ("akima", "pchip")]
            found = [re.search(r"overlap: '([0-9.]+)'", str(w.message)) for w in caught]
            overlap = next((m.group(1) for m in found if m), ">= 75")
            print(f"{test} vs {anchor}: BD-rate {values[0]:+.1f} % (akima), {values[1]:+.1f} % (pchip); "
                  f"PSNR overlap {overlap} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
