"""Tables and RD plots of the variable-rate ablation grid (grid.py), beside the paper's Tables 1-6.

Every BD-rate is bjontegaard's Akima interpolation over the PSNR interval where the two curves
meet, with that overlap printed: the learned curves span only 2-3 dB, so a usual "n/a under 75 %
overlap" rule would hide most of them. Classic codecs are trimmed to the learned curve's range
plus one point on each side (examples/zoo/bd_fine.py). A dagger marks a learned curve with a
dominated point (more bits, no better quality), left out so that the curve rises.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "zoo"))
from bd_fine import bd_rates, rd_curve, rising, where_they_meet  # noqa: E402

# (paper table, what is compared, anchor, test, the paper's BD-rate in %)
PAPER = (
    ("Table 1", "full method vs WACNN (paper: SCID / SIQAD; -13.3 average)", "wacnn_s0", "full_s0", "-15.7 / -14.7"),
    ("Table 1", "the same, seed 1", "wacnn_s1", "full_s1", "-15.7 / -14.7"),
    ("Table 1", "the same, seed 2", "wacnn_s2", "full_s2", "-15.7 / -14.7"),
    ("Table 2", "SEM (NESFT) vs SFT & CB, both blocks fresh", "sft_cb_s0", "nesft_fresh_s0", "-24.7"),
    ("Table 3", "with vs without structural prior", "no_structural_s0", "full_s0", "-7.3"),
    ("Table 4", "with vs without text prior", "no_text_s0", "full_s0", "-5.7"),
    ("Table 5", "RRD vs EAST at compress time", "full_s0", "full_rrd", "-0.41"),
    ("Table 5", "CRAFT vs EAST at compress time", "full_s0", "full_craft", "-1.2"),
    ("Table 6", "WMSE vs MSE (paper: on ASIQE)", "mse_s0", "full_s0", "-21.3"),
)
SEEDS = (0, 1, 2)
NOISE = tuple((f"{model}, seed {b} vs seed {a}", f"{model}_s{a}", f"{model}_s{b}")
              for model in ("wacnn", "full") for a, b in ((0, 1), (0, 2), (1, 2)))
METRICS = (("psnr", "PSNR"), ("text_psnr", "text PSNR"), ("ms_ssim", "MS-SSIM"))
LEARNED = ("wacnn_s0", "wacnn_s1", "wacnn_s2", "full_s0", "full_s1", "full_s2", "nesft_fresh_s0", "sft_cb_s0", "no_structural_s0",
           "no_text_s0", "mse_s0", "full_rrd", "full_craft")


def load(work: Path, tag: str) -> dict:
    """Every evaluation of one data set, merged."""
    files = sorted((work / "eval" / tag).glob("*.json"))
    parts = [json.loads(f.read_text()) for f in files]
    return {**parts[0], "points": [p for part in parts for p in part["points"]]} if parts else {"points": []}


def names(results: dict) -> set[str]:
    return {p["curve"] for p in results["points"]}


def measure(results: dict, anchor: str, test: str, metric: str, trim: bool = False) -> tuple[float | None, str]:
    """BD-rate of ``test`` against ``anchor`` in % (None where it cannot be measured) and its cell:
    the value, the overlap where under 75 % and a dagger where a dominated point was left out, or
    why there is no value."""
    if not {anchor, test} <= names(results):
        return None, "not run"
    a, t = rd_curve(results, anchor, metric), rd_curve(results, test, metric)
    if None in a[1] or None in t[1]:
        return None, "no data"  # e.g. text PSNR on Kodak, which has no text boxes
    a_up, t_up = rising(a), rising(t)
    dropped = len(a_up[0]) < len(a[0]) or len(t_up[0]) < len(t[0])
    if min(a_up[1]) > max(t_up[1]) and min(a_up[0]) <= min(t_up[0]):
        return None, f"{anchor} better at every rate"
    if min(t_up[1]) > max(a_up[1]) and min(t_up[0]) <= min(a_up[0]):
        return None, f"{test} better at every rate"
    if max(a_up[1]) < min(t_up[1]) or max(t_up[1]) < min(a_up[1]):
        return None, "no overlap"
    if trim:  # a steep classic curve may keep only three points: one inside, one each side
        a_up = where_they_meet(a_up, t_up)
    if len(a_up[0]) < (3 if trim else 4) or len(t_up[0]) < 4:
        return None, "too few points"
    akima, _, overlap = bd_rates(a_up, t_up)
    return akima, (f"{akima:+.1f} %" + ("" if overlap == ">= 75" else f" ({float(overlap):.0f} %)")
                   + (" †" if dropped else ""))


def cell(results: dict, anchor: str, test: str, metric: str, trim: bool = False) -> str:
    return measure(results, anchor, test, metric, trim)[1]


def seed_spread(results: dict, metric: str) -> float | None:
    """The largest |BD-rate| between two seeds of one recipe: a difference between variants
    smaller than this is not told apart from the noise of training."""
    values = [measure(results, anchor, test, metric)[0] for _, anchor, test in NOISE]
    values = [abs(v) for v in values if v is not None]
    return max(values) if values else None


def beyond_noise(values: dict[str, float | None], spreads: dict[str, float | None]) -> str:
    """Which metrics' BD-rates (``values``, by metric) move by more than the seed spread, and which way."""
    said = [f"{label} {'better' if values[metric] < 0 else 'worse'}" for metric, label in METRICS
            if values[metric] is not None and spreads[metric] is not None and abs(values[metric]) > spreads[metric]]
    if said:
        return ", ".join(said)
    comparable = any(values[m] is not None and spreads[m] is not None for m, _ in METRICS)
    return "within the noise" if comparable else "-"


def bd_table(results: dict, rows, header: str, trim: bool = False) -> list[str]:
    out = [f"| {header} | curves | " + " | ".join(label for _, label in METRICS) + " |",
           "|---|---|" + "---:|" * len(METRICS)]
    for label, anchor, test in rows:
        out.append(f"| {label} | {test} vs {anchor} | "
                   + " | ".join(cell(results, anchor, test, m, trim) for m, _ in METRICS) + " |")
    return out


def span_table(results: dict) -> list[str]:
    out = ["| model | bpp q1 -> q8 | span | PSNR q1 -> q8 | PSNR rises at every step |", "|---|---:|---:|---:|---|"]
    for name in LEARNED:
        points = sorted((p for p in results["points"] if p["curve"] == name),
                        key=lambda p: float(p["setting"].rsplit("q", 1)[1]))
        if not points:
            continue
        bpp = [p["mean"]["bpp"] for p in points]
        psnr = [p["mean"]["psnr"] for p in points]
        rising = all(b > a for a, b in zip(psnr, psnr[1:]))
        out.append(f"| {name} | {bpp[0]:.3f} -> {bpp[-1]:.3f} | {bpp[-1] / bpp[0]:.1f}x | "
                   f"{psnr[0]:.2f} -> {psnr[-1]:.2f} | {'yes' if rising else 'no'} |")
    return out


def rd_points(results: dict) -> list[str]:
    out = ["| curve | setting | bpp | PSNR dB | MS-SSIM | text PSNR dB |", "|---|---|---:|---:|---:|---:|"]
    for p in results["points"]:
        m = p["mean"]
        text = "-" if m.get("text_psnr") is None else f"{m['text_psnr']:.2f}"
        out.append(f"| {p['curve']} | {p['setting']} | {m['bpp']:.4f} | {m['psnr']:.2f} | {m['ms_ssim']:.4f} | {text} |")
    return out


def tables(sci_dev: dict, kodak: dict, unit: str = "crops") -> str:
    crops = len(sci_dev.get("images", []))
    variants = [n for n in LEARNED if n in names(sci_dev) and not n.startswith("wacnn")]
    classic = sorted(names(sci_dev) - set(LEARNED))
    out = ["### Noise: the same recipe, another seed", ""]
    out += bd_table(sci_dev, NOISE, "runs")
    spreads = {metric: seed_spread(sci_dev, metric) for metric, _ in METRICS}
    spread = " / ".join("-" if v is None else f"{v:.1f}" for v in spreads.values())
    out += ["", f"Seed spread (largest seed-to-seed BD-rate, {' / '.join(label for _, label in METRICS)}): "
            f"{spread} %. A difference smaller than this is not told apart from noise.",
            "", "### The paper's tables beside ours (test vs anchor; negative = the test needs fewer bits)", "",
            "| paper | comparison | paper BD-rate | " + " | ".join(f"ours ({label})" for _, label in METRICS)
            + " | beyond the seed spread |", "|---|---|---:|" + "---:|" * len(METRICS) + "---|"]
    for table, what, anchor, test, paper in PAPER:
        measured = {m: measure(sci_dev, anchor, test, m) for m, _ in METRICS}
        out.append(f"| {table} | {what}: {test} vs {anchor} | {paper} % | "
                   + " | ".join(text for _, text in measured.values())
                   + f" | {beyond_noise({m: value for m, (value, _) in measured.items()}, spreads)} |")
    out += ["", "### Every variant against every `wacnn` seed", ""]
    anchors = [s for s in SEEDS if f"wacnn_s{s}" in names(sci_dev)]
    out += bd_table(sci_dev, [(f"{v} (anchor seed {s})", f"wacnn_s{s}", v) for v in variants for s in anchors], "variant")
    out += ["", f"### `full` and `wacnn` against classic codecs (sci/dev {unit}; classic curve trimmed to where they meet)", ""]
    out += bd_table(sci_dev, [(c, c, m) for m in ("full_s0", "wacnn_s0") for c in classic], "anchor codec", trim=True)
    if kodak["points"]:
        out += ["", "### Kodak (24 natural photographs): does the SCI model cost anything there?", ""]
        out += bd_table(kodak, [("full vs wacnn", "wacnn_s0", "full_s0")], "comparison")
        out += [""] + bd_table(kodak, [(c, c, m) for m in ("full_s0", "wacnn_s0")
                                       for c in sorted(names(kodak) - set(LEARNED))], "anchor codec", trim=True)
        out += ["", "Kodak rate span:", ""] + span_table(kodak)
    out += ["", f"### Rate span of each variant (sci/dev {unit})", ""] + span_table(sci_dev)
    out += ["", f"### Rate-distortion points (means over the {crops} {unit})", ""] + rd_points(sci_dev)
    return "\n".join(out) + "\n"


def write_report(work: Path, root: Path, tag: str = "sci_dev") -> None:
    """tables.md and the figures of ship.py's 17 crops; ``tables_<tag>.md`` for another crop set."""
    from sclc.eval.plot import plot
    from sclc.imageio import atomic_write

    sci_dev, kodak = load(work, tag), load(work, "kodak")
    suffix = "" if tag == "sci_dev" else f"_{tag}"
    figures = root / "examples" / "ablation" / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    unit = "whole images" if tag == "whole" else "crops"
    size = "" if tag == "whole" else "512x512 "
    crops = f"sci/dev {size}{unit} ({len(sci_dev.get('images', []))})"
    learned = {**sci_dev, "points": [p for p in sci_dev["points"] if p["curve"] in LEARNED]}
    plot(learned, figures / f"rd_ablation{suffix}.png", title=f"{crops}: ablations (variable rate)")
    versus = {**sci_dev, "points": [p for p in sci_dev["points"] if p["curve"] not in LEARNED
                                    or p["curve"] in ("full_s0", "wacnn_s0")]}
    plot(versus, figures / f"rd_codecs{suffix}.png", title=f"{crops}: learned vs classic codecs")
    text = tables(sci_dev, kodak if tag == "sci_dev" else {"points": []}, unit)
    out = work / f"tables{suffix}.md"
    atomic_write(out, text.encode())
    print(text)
    print(f"tables: {out}; plots: {figures}")
