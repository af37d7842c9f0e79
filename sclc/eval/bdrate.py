"""BD-rate between RD curves of a results file (bjontegaard package; Akima interpolation).

Quality axes: PSNR, text-region PSNR, and the OCR character error rate (``cer``, ``cer_gt``), for
which lower is better: BD-rate then runs on -CER, and :func:`readable_bpp` gives the bits a codec
needs to keep text readable (CER at most a threshold from that rate up)."""

from __future__ import annotations

import math
import warnings

import bjontegaard as bd

from sclc.errors import SclcError


def curves(results: dict, metric: str = "psnr") -> dict[str, tuple[list[float], list[float]]]:
    """curve label -> (bpp, metric) sorted by rate, from the per-point means."""
    grouped: dict[str, list[tuple[float, float]]] = {}
    for point in results["points"]:
        mean = point["mean"]
        if mean.get(metric) is None or mean.get("bpp") is None:
            continue
        grouped.setdefault(point["curve"], []).append((mean["bpp"], mean[metric]))
    return {name: ([r for r, _ in sorted(p)], [d for _, d in sorted(p)]) for name, p in grouped.items()}


def bd_rate(anchor: tuple[list[float], list[float]], test: tuple[list[float], list[float]]) -> float | None:
    """Average rate difference in percent at equal quality (negative: test needs fewer bits)."""
    if min(len(anchor[0]), len(test[0])) < 4:
        return None  # Akima interpolation needs four points per curve
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = bd.bd_rate(anchor[0], anchor[1], test[0], test[1], method="akima",
                               require_matching_points=False)
        except Exception:  # e.g. curves that are not monotonic
            return None
    if any("overlap" in str(w.message) for w in caught):
        return None  # under 75 % quality overlap the number would be an extrapolation

    return None if value is None or math.isnan(value) else float(value)


LOWER_IS_BETTER = ("cer", "cer_gt")


def readable_bpp(curve: tuple[list[float], list[float]], max_cer: float) -> float | None:
    """The lowest rate from which on every point's CER is at most ``max_cer``, interpolated linearly
    between the last point above it and the first at or below; None if the top point is above it."""
    rates, errors = curve
    if not rates or errors[-1] > max_cer:
        return None
    first = len(errors) - 1
    while first > 0 and errors[first - 1] <= max_cer:
        first -= 1
    if first == 0:
        return rates[0]
    (r0, e0), (r1, e1) = (rates[first - 1], errors[first - 1]), (rates[first], errors[first])
    return r0 + (r1 - r0) * (e0 - max_cer) / (e0 - e1)


def table(results: dict, anchor: str, metrics: tuple[str, ...] = ("psnr", "text_psnr", "cer", "cer_gt")) -> dict:
    out = {}
    for metric in metrics:
        by_curve = curves(results, metric)
        if anchor not in by_curve:
            if metric == "psnr":
                raise SclcError(f"no curve named '{anchor}' — curves: {', '.join(sorted(by_curve)) or '(none)'}")
            continue
        if metric in LOWER_IS_BETTER:
            by_curve = {name: (rate, [-v for v in value]) for name, (rate, value) in by_curve.items()}
        out[metric] = {name: bd_rate(by_curve[anchor], c) for name, c in by_curve.items() if name != anchor}
    return out


def readable_table(results: dict, max_cer: float, metric: str = "cer") -> dict[str, float | None]:
    """curve -> bits per pixel to keep text readable (``readable_bpp``); empty without OCR results."""
    return {name: readable_bpp(curve, max_cer) for name, curve in sorted(curves(results, metric).items())}


def format_table(rows: dict, anchor: str) -> str:
    metrics = list(rows)
    names = sorted({n for m in metrics for n in rows[m]})
    head = f"{'BD-rate vs ' + anchor:<28}" + "".join(f"{m:>12}" for m in metrics)
    lines = [head, "-" * len(head)]
    for name in names:
        cells = [rows[m].get(name) for m in metrics]
        lines.append(f"{name:<28}" + "".join(f"{'n/a':>12}" if c is None else f"{c:>+11.1f}%" for c in cells))
    return "\n".join(lines)
