"""Measure codec files on other sci/dev crops, the way ship.py measures the shipped ones.

    python examples/zoo/measure.py sci=sclc/pretrained/sci.pt wacnn=sclc/pretrained/wacnn.pt \
        --offset 2 --out work_dirs/heldout [--qualities 1 2 4 6 8] [--refine STEPS [--refine-rounding sga]]

Writes the centre ``--crop`` of every ``--every``-th sci/dev image from ``--offset`` (offset 0 is
ship.py's set) to ``OUT/dev{crop}_offset{offset}`` and the evaluation (qualities 1..8, real
bitstreams) to ``OUT/ship.json``, so that ``bd_fine.py --work OUT --crops dev512_offset2`` reads it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ship import QUALITIES, ROOT, dev_crops


def main() -> int:
    from sclc.eval.run import evaluate
    from sclc.imageio import atomic_write
    from sclc.refine import ROUNDINGS
    from sclc.resolve import load_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", metavar="NAME=CODEC")
    parser.add_argument("--out", type=Path, default=ROOT / "work_dirs" / "heldout")
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--offset", type=int, default=2)
    parser.add_argument("--crop", type=int, default=512)
    parser.add_argument("--qualities", type=float, nargs="+", default=QUALITIES)
    parser.add_argument("--refine", type=int, default=0, metavar="STEPS", help="encoder-side refinement (sclc/refine.py)")
    parser.add_argument("--refine-rounding", choices=ROUNDINGS, default="ste")
    args = parser.parse_args()
    data = dev_crops(args.out / f"dev{args.crop}_offset{args.offset}", args.every, args.crop, args.offset)
    models = []
    for item in args.models:
        name, path = item.split("=", 1)
        loaded = load_model(path)
        models += [(name, loaded.at_quality(q).refined(args.refine, args.refine_rounding)) for q in args.qualities]
    results = evaluate(data, models, {}, progress=False)  # the crops' text masks lie beside them
    atomic_write(args.out / "ship.json", json.dumps(results, indent=1).encode())
    for p in results["points"]:
        print(p["setting"], f"bpp {p['mean']['bpp']:.4f} PSNR {p['mean']['psnr']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
