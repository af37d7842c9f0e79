"""Tables and RD plots of the ablation grid, from the merged results of grid.py."""

from __future__ import annotations

from pathlib import Path

from sclc.eval.bdrate import bd_rate, curves
from sclc.eval.plot import plot
from sclc.imageio import atomic_write

# (paper table, what is compared, anchor curve, test curve, paper's BD-rate in %)
PAPER = (
    ("Table 1", "full method vs WACNN (SCID / SIQAD)", "wacnn", "full", "-15.7 / -14.7"),
    ("Table 2", "SEM vs SFT & CB", "sft_cb", "full", "-24.7"),
    ("Table 3", "with vs without structural prior", "no_structural", "full", "-7.3"),
    ("Table 4", "with vs without text prior", "no_text", "full", "-5.7"),
    ("Table 5", "RRD vs EAST", "east", "rrd", "-0.41"),
    ("Table 5", "CRAFT vs EAST", "east", "full", "-1.2"),
    ("Table 6", "WMSE vs MSE (paper: ASIQE)", "mse", "full", "-21.3"),
)
LEARNED_ORDER = ("wacnn", "full", "sft_cb", "no_structural", "no_text", "east", "rrd", "mse")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f} %"


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def rd_table(results: dict) -> str:
    lines = ["| curve | setting | bpp | PSNR dB | MS-SSIM | text PSNR dB | encode s | decode s |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for p in results["points"]:
        m = p["mean"]
        lines.append(f"| {p['curve']} | {p['setting']} | {_num(m['bpp'], '.4f')} | {_num(m['psnr'], '.2f')} | "
                     f"{_num(m['ms_ssim'], '.4f')} | {_num(m['text_psnr'], '.2f')} | {_num(m['encode_s'], '.2f')} | "
                     f"{_num(m['decode_s'], '.2f')} |")
    return "\n".join(lines)


def _means(results: dict, curve: str) -> dict[str, dict]:
    return {p["setting"].rsplit("-", 1)[-1]: p["mean"] for p in results["points"] if p["curve"] == curve}


def same_lambda_table(results: dict, variants: list[str]) -> str:
    base = _means(results, "wacnn")
    qualities = sorted(base)
    lines = ["| variant | " + " | ".join(f"{q}: rate / PSNR / text PSNR" for q in qualities) + " |",
             "|---|" + "---:|" * len(qualities)]
    for variant in variants:
        cells = []
        for q, m in sorted(_means(results, variant).items()):
            b = base[q]
            text = "-" if None in (m["text_psnr"], b["text_psnr"]) else f"{m['text_psnr'] - b['text_psnr']:+.2f}"
            cells.append(f"{100 * (m['bpp'] / b['bpp'] - 1):+.1f} % / {m['psnr'] - b['psnr']:+.2f} / {text}")
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bd(results: dict, anchor: str, test: str, metric: str) -> float | None:
    by_curve = curves(results, metric)
    if anchor not in by_curve or test not in by_curve:
        return None
    return bd_rate(by_curve[anchor], by_curve[test])


def tables(results: dict) -> str:
    learned = [c for c in LEARNED_ORDER if c in curves(results)]
    classic = [c for c in curves(results) if c not in LEARNED_ORDER]
    out = ["### BD-rate of each variant against the WACNN baseline (negative = fewer bits)", "",
           "| variant | BD-rate (PSNR) | BD-rate (text PSNR) |", "|---|---:|---:|"]
    out += [f"| {c} | {_pct(bd(results, 'wacnn', c, 'psnr'))} | {_pct(bd(results, 'wacnn', c, 'text_psnr'))} |"
            for c in learned if c != "wacnn"]
    out += ["", "### The paper's ablation tables beside ours", "",
            "| paper | comparison | anchor -> test | paper BD-rate | ours (PSNR) | ours (text PSNR) |",
            "|---|---|---|---:|---:|---:|"]
    out += [f"| {t} | {what} | {a} -> {b} | {paper} % | {_pct(bd(results, a, b, 'psnr'))} | "
            f"{_pct(bd(results, a, b, 'text_psnr'))} |" for t, what, a, b, paper in PAPER]
    out += ["", "### Learned models against classic codecs (BD-rate of the model, codec as anchor)", "",
            "| anchor codec | full (PSNR) | full (text PSNR) | wacnn (PSNR) | wacnn (text PSNR) |",
            "|---|---:|---:|---:|---:|"]
    out += [f"| {c} | {_pct(bd(results, c, 'full', 'psnr'))} | {_pct(bd(results, c, 'full', 'text_psnr'))} | "
            f"{_pct(bd(results, c, 'wacnn', 'psnr'))} | {_pct(bd(results, c, 'wacnn', 'text_psnr'))} |"
            for c in classic]
    out += ["", "### Same lambda, side by side: each variant against `wacnn` at the same quality", "",
            "Rate change and PSNR / text-PSNR change of the variant's mean point against the baseline's mean",
            "point at the same lambda (a crude but robust view when curves are too short or not monotonic for",
            "BD-rate).", "", same_lambda_table(results, [c for c in learned if c != "wacnn"])]
    out += ["", "### Rate-distortion points (means over the images)", "", rd_table(results)]
    return "\n".join(out) + "\n"


def _subset(results: dict, names) -> dict:
    return {**results, "points": [p for p in results["points"] if p["curve"] in names]}


def write_report(results: dict, work: Path, root: Path) -> None:
    figures = root / "examples" / "ablation" / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    plot(_subset(results, LEARNED_ORDER), figures / "rd_ablation.png", title="sci/dev 512x512 crops: ablations")
    plot(_subset(results, {"wacnn", "full", *[c for c in curves(results) if c not in LEARNED_ORDER]}),
         figures / "rd_codecs.png", title="sci/dev 512x512 crops: learned vs classic codecs")
    atomic_write(work / "tables.md", tables(results).encode())
    print(tables(results))
    print(f"tables: {work / 'tables.md'}; plots: {figures}")
