"""BD-rate of the shipped models against JPEG and WebP sampled finely in their range.

    python examples/zoo/bd_fine.py [--work work_dirs/zoo] [--crops dev512_every4] [--against OLD.json]
                                   [--classic CLASSIC.json]

Reads the crops and ship.json that examples/zoo/ship.py wrote, codes the same crops with JPEG
(quality 5..50) and WebP (quality 0..40), and prints BD-rates (Akima and PCHIP) of each learned
curve against the classic points where the two meet (the classic curve trimmed to the learned
curve's PSNR range plus one point on each side). The learned curves span about 2 dB, so the
overlap can stay under the usual 75 %: each number is over the overlapping PSNR interval only.
``--against`` an earlier ship.json of the same crops: each model against its previous weights.
``--classic`` an evaluation of the same crops that already holds these JPEG and WebP settings (the
ablation grid's ``eval/<tag>/classic.json``), instead of coding them again. ``--by-kind``: also
each content kind on its own (the file-name prefix: doc, shot, slide), averaging its images only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import warnings
from pathlib import Path

import bjontegaard as bd

ROOT = Path(__file__).resolve().parents[2]
CLASSIC = {"jpeg": (5, 7, 9, 11, 13, 15, 18, 21, 25, 30, 35, 40, 50),
           "webp": (0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 40)}


def read_results(path: Path) -> dict:
    """A ship.json, or a models.toml whose ``measured`` rows (ship.py's means on the same crops) stand
    in for it: the weights being replaced need not be measured again."""
    if path.suffix != ".toml":
        return json.loads(path.read_text())
    import tomllib

    models = tomllib.loads(path.read_text())["model"]
    return {"points": [{"curve": m["name"], "setting": f"{m['name']} q{row['quality']:g}", "mean": row}
                       for m in models for row in m["measured"]]}


def rd_curve(results: dict, name: str, metric: str = "psnr") -> tuple[list[float], list[float]]:
    points = sorted((p["mean"]["bpp"], p["mean"][metric]) for p in results["points"] if p["curve"] == name)
    return [r for r, _ in points], [d for _, d in points]


def rising(curve: tuple[list, list]) -> tuple[list, list]:
    """The points that beat every cheaper point (bjontegaard needs a rising curve): a point that
    costs more bits for no better quality is dominated, and no codec user would pick it."""
    keep = [i for i, d in enumerate(curve[1]) if all(d > e for e in curve[1][:i])]
    return [curve[0][i] for i in keep], [curve[1][i] for i in keep]


def where_they_meet(anchor: tuple[list, list], test: tuple[list, list]) -> tuple[list, list]:
    """The anchor's points inside the test curve's PSNR range, and one more on each side."""
    low, high = min(test[1]), max(test[1])
    inside = [i for i, d in enumerate(anchor[1]) if low <= d <= high]
    below = [i for i, d in enumerate(anchor[1]) if d < low]
    above = [i for i, d in enumerate(anchor[1]) if d > high]
    keep = sorted(set(inside + below[-1:] + above[:1]))
    return [anchor[0][i] for i in keep], [anchor[1][i] for i in keep]


def bd_rates(anchor: tuple[list, list], test: tuple[list, list]) -> tuple[float, float, str]:
    """BD-rate in % by Akima and by PCHIP interpolation, and the PSNR overlap bjontegaard reports."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = [bd.bd_rate(anchor[0], anchor[1], test[0], test[1], method=m, require_matching_points=False)
                  for m in ("akima", "pchip")]
    found = [re.search(r"overlap: '([0-9.]+)'", str(w.message)) for w in caught]
    return values[0], values[1], next((m.group(1) for m in found if m), ">= 75")


def of_kind(results: dict, kind: str) -> dict:
    """The evaluation restricted to the images whose name starts with ``kind`` + "_" (means re-taken)."""
    points = []
    for point in results["points"]:
        images = [i for i in point["images"] if i["image"].startswith(f"{kind}_")]
        mean = {key: sum(i[key] for i in images) / len(images) for key in ("bpp", "psnr")}
        points.append({**point, "mean": mean})
    return {"points": points}


def kinds(results: dict) -> list[str]:
    return sorted({i["image"].split("_")[0] for p in results["points"] for i in p["images"]})


def print_bd_rate(label: str, anchor: tuple[list, list], test: tuple[list, list]) -> None:
    akima, pchip, overlap = bd_rates(anchor, test)
    print(f"{label}: BD-rate {akima:+.1f} % (akima), {pchip:+.1f} % (pchip); overlap {overlap} %")


def main() -> int:
    from sclc.eval.codecs import CODECS
    from sclc.eval.run import evaluate

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "work_dirs" / "zoo")
    parser.add_argument("--crops", default="dev512_every4", help="the crops folder ship.py wrote in --work")
    parser.add_argument("--against", type=Path, help="an earlier ship.json of the same crops, or the models.toml "
                        "ship.py wrote for them (e.g. git show HEAD:sclc/pretrained/models.toml)")
    parser.add_argument("--classic", type=Path, help="an earlier evaluation of the same crops with these settings")
    parser.add_argument("--by-kind", action="store_true", help="also per content kind (doc, shot, slide)")
    args = parser.parse_args()
    results = json.loads((args.work / "ship.json").read_text())
    learned = [name for name in ("sci", "wacnn") if any(p["curve"] == name for p in results["points"])]
    if args.against:
        earlier = read_results(args.against)
        for name in learned:
            print_bd_rate(f"{name} vs its previous weights", rd_curve(earlier, name), rd_curve(results, name))
    # The same evaluation ship.py ran, with the classic codecs' settings where the curves meet.
    if args.classic:
        classic = json.loads(args.classic.read_text())
        if sorted(classic["images"]) != sorted(results["images"]):
            raise SystemExit(f"{args.classic} was measured on other images than {args.work / 'ship.json'}")
    else:
        codecs = [dataclasses.replace(CODECS[name], settings=settings) for name, settings in CLASSIC.items()]
        classic = evaluate(args.work / args.crops, [], codecs, progress=False)
    curves = {name: rd_curve(results, name) for name in learned}
    for name in CLASSIC:
        curves[name] = rising(rd_curve(classic, name))  # e.g. JPEG 7 -> 9 can lose PSNR on some crop sets
        print(name, " ".join(f"{r:.3f}/{d:.2f}" for r, d in zip(*curves[name])))
    for anchor in ("jpeg", "webp", *learned[1:]):
        for test in learned:
            if test == anchor:
                continue
            t = curves[test]
            a = where_they_meet(curves[anchor], t) if anchor in CLASSIC else curves[anchor]
            if max(a[1]) < min(t[1]) or max(t[1]) < min(a[1]):
                print(f"{test} vs {anchor}: the curves do not overlap in PSNR: no BD-rate")
                continue
            print_bd_rate(f"{test} vs {anchor}", a, t)
    if args.by_kind:
        for kind in kinds(results):
            mine, theirs = of_kind(results, kind), of_kind(classic, kind)
            count = sum(i["image"].startswith(f"{kind}_") for i in results["points"][0]["images"])
            for test in learned:
                t = rd_curve(mine, test)
                for anchor in CLASSIC:
                    print_bd_rate(f"{kind} ({count} images): {test} vs {anchor}",
                                  where_they_meet(rising(rd_curve(theirs, anchor)), t), t)
    # the text-region side of the paper's claim: equal text PSNR, learned against learned
    if learned == ["sci", "wacnn"]:
        print_bd_rate("sci vs wacnn (text PSNR)", rd_curve(results, "wacnn", "text_psnr"), rd_curve(results, "sci", "text_psnr"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
