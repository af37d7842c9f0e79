"""``sclc report``: one self-contained HTML page from an eval results JSON (nothing else is read).

The page has the RD plots (PSNR, text-region PSNR, CER against bpp), the BD-rate tables with the
bits each codec needs to keep text readable, and, for the images whose text-region crops the
results kept (``sclc eval --crops``), every codec's crop at matched bitrates: for a few rates of the
reference curve, each curve's setting whose file for that image is closest in size. A click on a
crop zooms it (nearest-neighbour, so that pixels stay pixels). Every image is a data URI.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from sclc.errors import SclcError
from sclc.eval.bdrate import curves, readable_table, table
from sclc.eval.plot import LABELS, render_png
from sclc.imageio import atomic_write

_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
MATCHED_RATES = 3  # rows of crops per image: the reference curve's lowest, middle and highest rate

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
.plots img { max-width: 48%; min-width: 420px; }
.crops { display: flex; flex-wrap: wrap; gap: 0.8em; align-items: flex-start; margin-bottom: 1em; }
figure { margin: 0; font-size: 0.8em; }
img.crop { image-rendering: pixelated; cursor: zoom-in; border: 1px solid #999; display: block; }
img.crop.zoomed { cursor: zoom-out; width: calc(3 * var(--w)); }
"""

SCRIPT = """
document.querySelectorAll("img.crop").forEach(function (img) {
  img.style.setProperty("--w", img.naturalWidth + "px");
  img.addEventListener("load", function () { img.style.setProperty("--w", img.naturalWidth + "px"); });
  img.addEventListener("click", function () { img.classList.toggle("zoomed"); });
});
"""


def _png_uri(data: bytes | str) -> str:
    if isinstance(data, bytes):
        data = base64.b64encode(data).decode("ascii")
    if not isinstance(data, str) or not _BASE64.match(data):
        raise SclcError("results: a crop is not base64 PNG data")
    return f"data:image/png;base64,{data}"


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _bd_section(results: dict, anchor: str, max_cer: float) -> str:
    rows = table(results, anchor)
    readable = readable_table(results, max_cer)
    metrics = list(rows)
    names = sorted({n for m in metrics for n in rows[m]} | set(readable))
    head = "".join(f"<th>BD-rate {html.escape(m)}</th>" for m in metrics)
    if readable:
        head += f"<th>bpp to keep CER &le; {max_cer:g}</th>"
    body = []
    for name in names:
        cells = "".join(f"<td>{_fmt(rows[m].get(name), '+.1f')}{'%' if rows[m].get(name) is not None else ''}</td>"
                        for m in metrics)
        if readable:
            cells += f"<td>{_fmt(readable.get(name), '.4f')}</td>"
        body.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>")
    return (f"<h2>BD-rate against {html.escape(anchor)}</h2>"
            "<p>Negative: fewer bits than the anchor at equal quality (for CER, at equal error rate); "
            "- where the curves overlap too little or have under four points.</p>"
            f"<table><tr><th>curve</th>{head}</tr>{''.join(body)}</table>")


def _rd_table(results: dict) -> str:
    keys = [k for k in ("bpp", "psnr", "text_psnr", "cer", "cer_gt") if any(
        p["mean"].get(k) is not None for p in results["points"])]
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join(
        f"<tr><td>{html.escape(str(p['curve']))}</td><td>{html.escape(str(p['setting']))}</td>"
        + "".join(f"<td>{_fmt(p['mean'].get(k), '.4f' if k in ('bpp', 'cer', 'cer_gt') else '.2f')}</td>" for k in keys)
        + "</tr>" for p in results["points"])
    return f"<h2>Mean over images</h2><table><tr><th>curve</th><th>setting</th>{head}</tr>{body}</table>"


def _matched(results: dict, image: str, reference: str) -> list[list[tuple[dict, dict]]]:
    """Rows of (point, per-image row) with a crop: one row per matched rate, one entry per curve."""
    by_curve: dict[str, list[tuple[dict, dict]]] = {}
    for point in results["points"]:
        for row in point["images"]:
            if row.get("image") == image and row.get("crop"):
                by_curve.setdefault(str(point["curve"]), []).append((point, row))
    if reference not in by_curve:
        return []
    ladder = sorted(by_curve[reference], key=lambda pr: pr[1]["bpp"])
    picks = sorted({round(i * (len(ladder) - 1) / max(MATCHED_RATES - 1, 1)) for i in range(MATCHED_RATES)})
    rows, targets = [], []
    for index in picks:
        target = ladder[index][1]["bpp"]
        if targets and target <= targets[-1] * 1.1:
            continue  # a curve whose rate hardly moves gives one row, not three alike
        targets.append(target)
        rows.append([min(entries, key=lambda pr: abs(pr[1]["bpp"] - target)) for _, entries in sorted(by_curve.items())])
    return rows


def _crop_section(results: dict, reference: str) -> str:
    crops = results.get("crops") or {}
    if not crops:
        return ""
    parts = [f"<h2>Text regions at matched bitrates</h2><p>For a few rates of {html.escape(reference)}, "
             "each codec's setting whose file for the image is closest in size. Click a crop to zoom.</p>"]
    for image, crop in crops.items():
        box = ", ".join(str(int(v)) for v in crop["box"])
        parts.append(f"<h3>{html.escape(image)} <small>(x0, y0, x1, y1 = {box})</small></h3>")
        parts.append(f'<div class="crops"><figure><img class="crop" alt="original" src="{_png_uri(crop["original"])}">'
                     "<figcaption>original</figcaption></figure></div>")
        for row in _matched(results, image, reference):
            figures = []
            for point, measured in row:
                caption = (f"{html.escape(str(point['curve']))} {html.escape(str(point['setting']))}<br>"
                           f"{measured['bpp']:.3f} bpp, PSNR {_fmt(measured.get('psnr'), '.2f')}, "
                           f"CER {_fmt(measured.get('cer'), '.3f')}")
                figures.append(f'<figure><img class="crop" alt="{html.escape(str(point["curve"]))}" '
                               f'src="{_png_uri(measured["crop"])}"><figcaption>{caption}</figcaption></figure>')
            parts.append(f'<div class="crops">{"".join(figures)}</div>')
    return "".join(parts)


def render(results: dict, anchor: str | None = None, max_cer: float = 0.05, title: str | None = None) -> str:
    """The page as a string. ``anchor``: the BD-rate anchor (default jpeg, else the first curve)."""
    try:
        names = [str(p["curve"]) for p in results["points"]]
        if not names:
            raise SclcError("results have no points")
        anchor = anchor or ("jpeg" if "jpeg" in names else names[0])
        learned = [str(p["curve"]) for p in results["points"] if p.get("kind") == "learned"]
        reference = learned[0] if learned else anchor
        title = title or f"sclc eval: {Path(str(results.get('data_dir', ''))).name}"
        ocr = results.get("ocr")
        plots = "".join(f'<img alt="{m} against bpp" src="{_png_uri(render_png(results, LABELS[m], (m,)))}">'
                        for m in ("psnr", "text_psnr", "cer", "cer_gt") if curves(results, m))
        summary = f"{len(results.get('images', []))} images from {html.escape(str(results.get('data_dir', '')))}."
        if ocr and "unavailable" in ocr:
            summary += f" No CER: {html.escape(str(ocr['unavailable']))}."
        elif ocr:
            floors = [f["cer_gt"] for f in ocr.get("originals", {}).values() if f.get("cer_gt") is not None]
            floor = (f" Its CER on the originals against ground-truth words (the metric's floor): "
                     f"{sum(floors) / len(floors):.3f} over {len(floors)} images." if floors else "")
            summary += (f" Text read by {html.escape(str(ocr['engine']))} {html.escape(str(ocr['version']))}; "
                        f"CER compares, word by word, what it read in the original with what it reads in the same "
                        f"places after decoding.{floor}")
        body = (f"<h1>{html.escape(title)}</h1><p>{summary}</p><h2>Rate-distortion</h2><div class=\"plots\">{plots}"
                f"</div>{_bd_section(results, anchor, max_cer)}{_rd_table(results)}{_crop_section(results, reference)}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SclcError(f"malformed results: {type(exc).__name__}: {exc}") from None
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{body}<script>{SCRIPT}</script></body></html>\n")


def write(results: dict, out: str | Path, anchor: str | None = None, max_cer: float = 0.05) -> None:
    atomic_write(out, render(results, anchor, max_cer).encode("utf-8"))
