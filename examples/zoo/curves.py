"""Learning curves of the zoo runs: validation PSNR and estimated bpp at q = 0, 0.5, 1 on the
sci/dev validation crops, against training minutes (one CPU thread each on this machine).

    python examples/zoo/curves.py [--work work_dirs/zoo] [--out examples/zoo/figures/curves.png]

Reads mmengine's ``vis_data/scalars.json`` of every (resumed) run of each model; minutes are the
sum of logged seconds per iteration times the log interval. Prints a table for RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LEVELS = ("0", "0.5", "1")


def read_run(work_dir: Path, val_interval: int) -> list[dict]:
    """Validation rows {step, minutes, psnr@q.., bpp@q..}, later runs overriding replayed steps.
    Runs logged before validation rows carried their iteration (step 0) count them in turn."""
    train, val = {}, {}
    for scalars in sorted(work_dir.glob("*/vis_data/scalars.json")):
        rounds = 0
        for line in scalars.read_text().splitlines():
            row = json.loads(line)
            if "val/psnr" in row:
                val[row["step"] or rounds * val_interval] = row
            else:
                train[row["step"]] = row
                rounds = row["step"] // val_interval
    minutes, last_step, elapsed = {}, 0, 0.0
    for step in sorted(train):
        elapsed += train[step]["time"] * (step - last_step) / 60
        minutes[step], last_step = elapsed, step
    rows = []
    for step in sorted(val):
        known = [s for s in minutes if s <= step]
        rows.append({"step": step, "minutes": minutes[max(known)] if known else 0.0,
                     **{k.removeprefix("val/"): v for k, v in val[step].items() if k.startswith("val/")}})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "work_dirs" / "zoo")
    parser.add_argument("--out", type=Path, default=ROOT / "examples" / "zoo" / "figures" / "curves.png")
    parser.add_argument("--val-interval", type=int, default=500)
    args = parser.parse_args()
    runs = {name: read_run(args.work / name, args.val_interval) for name in ("sci", "wacnn")}
    fig, (psnr_ax, bpp_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for (name, rows), style in zip(runs.items(), ("-", "--")):
        for level, colour in zip(LEVELS, ("tab:blue", "tab:orange", "tab:green")):
            points = [(r["minutes"], r[f"psnr@q{level}"], r[f"bpp@q{level}"]) for r in rows if f"psnr@q{level}" in r]
            if points:
                minutes, psnr, bpp = zip(*points)
                psnr_ax.plot(minutes, psnr, style, color=colour, label=f"{name} q={level}")
                bpp_ax.plot(minutes, bpp, style, color=colour, label=f"{name} q={level}")
        print(f"\n{name}: step, minutes, then PSNR / bpp at q = {', '.join(LEVELS)}")
        for r in rows:
            cells = "  ".join(f"{r.get(f'psnr@q{lv}', float('nan')):5.2f} / {r.get(f'bpp@q{lv}', float('nan')):.3f}"
                              for lv in LEVELS)
            print(f"  {r['step']:>6} {r['minutes']:6.0f}  {cells}")
    psnr_ax.set(xlabel="training minutes (one CPU thread)", ylabel="val PSNR (dB)")
    bpp_ax.set(xlabel="training minutes (one CPU thread)", ylabel="val estimated bpp")
    psnr_ax.legend(fontsize=7)
    psnr_ax.grid(alpha=0.3)
    bpp_ax.grid(alpha=0.3)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"\n{args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
