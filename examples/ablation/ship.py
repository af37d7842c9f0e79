"""Copy the grid's full-method and baseline models into the package as named pretrained models.

    python examples/ablation/ship.py --work work_dirs/grid

Writes sclc/pretrained/{sci-tiny,wacnn-tiny}-q{1..4}.pt and models.toml (sha256 and the RD
measured by grid.py on the same weights). Only the spec's name changes, so each shipped model
decodes exactly like the evaluated one; this is checked on one evaluation image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHIPPED = {  # zoo name: (grid variant, summary)
    "sci-tiny": ("full", "paper's full method at N=32, M=40: Laplacian x CRAFT prior, SEM at g_a/h_a/g_s, WMSE"),
    "wacnn-tiny": ("wacnn", "WACNN baseline at N=32, M=40, MSE"),
}


def main() -> int:
    from grid import LAMBDAS, model_path

    from sclc.checkpoint import load_checkpoint, model_from_spec_data, save_checkpoint
    from sclc.codec import compress, decompress
    from sclc.imageio import atomic_write, load_rgb

    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=ROOT / "work_dirs" / "grid")
    args = parser.parse_args()
    results = json.loads((args.work / "results.json").read_text())
    probe = load_rgb(sorted((args.work / "dev512").glob("*.png"))[0])
    target = ROOT / "sclc" / "pretrained"
    target.mkdir(exist_ok=True)
    rows = []
    for name, (variant, summary) in SHIPPED.items():
        for quality, lmbda in enumerate(LAMBDAS, start=1):
            evaluated = load_checkpoint(model_path(args.work, variant, quality))
            spec = {**evaluated.spec.to_dict(), "name": f"{name}-q{quality}"}
            out = target / f"{name}-q{quality}.pt"
            save_checkpoint(model_from_spec_data(spec, evaluated.state_dict(), str(out)), out, half=True)
            shipped = load_checkpoint(out)
            same = np.array_equal(np.asarray(decompress(compress(probe, shipped), shipped)),
                                  np.asarray(decompress(compress(probe, evaluated), evaluated)))
            if not same:
                raise SystemExit(f"{out}: does not decode like the evaluated model")
            [point] = [p for p in results["points"] if p["curve"] == variant and p["setting"] == f"{variant}-q{quality}"]
            measured = {k: round(point["mean"][k], 4) for k in ("bpp", "psnr", "text_psnr", "ms_ssim")}
            digest = hashlib.sha256(out.read_bytes()).hexdigest()
            rows.append(f'[[model]]\nname = "{name}"\nquality = {quality}\nlmbda = {lmbda}\nfile = "{out.name}"\n'
                        f'sha256 = "{digest}"\nsummary = "{summary}"\n'
                        f"measured = {{ {', '.join(f'{k} = {v}' for k, v in measured.items())} }}\n")
            print(f"{out.name}: {out.stat().st_size / 1e6:.2f} MB, {measured}")
    header = ("# Pretrained codecs shipped with sclc (see MODEL_CARD.md). Written by examples/ablation/ship.py;\n"
              "# `measured` = mean over the 66 centre 512x512 crops of sci/dev (RESULTS.md).\n\n")
    atomic_write(target / "models.toml", (header + "\n".join(rows)).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
