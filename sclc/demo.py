"""``sclc demo``: a pretrained codec on a generated screenshot, against JPEG and WebP at the same size.

The screenshot comes from the synthetic screen generator, which also gives its exact text mask,
so text-region PSNR needs no detector. Each classic codec gets the highest quality whose file is
no larger than the learned codec's file (the fair comparison: equal or fewer bytes). The comparison
is also written as an eval results file (``results.json``, one point per codec) and its HTML page
(``report.html``); with Tesseract installed each decoded image's OCR character error rate too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from sclc.eval import metrics


@dataclass
class Row:
    codec: str
    setting: str
    size: int
    bpp: float
    psnr: float
    text_psnr: float | None
    seconds: float
    cer: float | None = None


def _row(codec, setting, data: bytes, original, decoded, mask, seconds) -> Row:
    h, w = original.shape[:2]
    return Row(codec, setting, len(data), metrics.bits_per_pixel(len(data), h, w), metrics.psnr(original, decoded),
               metrics.psnr(original, decoded, mask), seconds)


def largest_setting_within(codec, rgb: np.ndarray, budget: int) -> tuple[int, bytes]:
    """Highest integer quality in 1..100 whose file fits ``budget`` bytes (quality 1 if none does)."""
    low, high = 1, 100
    best = (1, codec.encode(rgb, 1))
    while low <= high:
        middle = (low + high) // 2
        data = codec.encode(rgb, middle)
        if len(data) <= budget:
            best, low = (middle, data), middle + 1
        else:
            high = middle - 1
    return best


def run_demo(model: str, quality: float | None, out_dir: Path, width: int, height: int, seed: int,
             ocr: str | None = "tesseract", refine_steps: int = 0) -> list[Row]:
    from sclc.codec import decompress, encode
    from sclc.data.synthetic import render
    from sclc.eval.codecs import CODECS
    from sclc.imageio import atomic_write, save_image
    from sclc.resolve import load_model

    sample = render(seed, width, height)
    original = np.asarray(sample.image)
    loaded = load_model(model, quality=quality, refine_steps=refine_steps)
    start = time.perf_counter()
    data = encode(sample.image, loaded).data
    encode_s = time.perf_counter() - start
    decoded = np.asarray(decompress(data).convert("RGB"))  # from the file alone, as a receiver would
    out_dir.mkdir(parents=True, exist_ok=True)
    save_image(sample.image, out_dir / "original.png")
    atomic_write(out_dir / "screenshot.sclc", data)
    save_image(Image.fromarray(decoded), out_dir / "sclc.png")
    setting = "-" if loaded.quality is None else f"quality {loaded.quality:g}"
    setting += f", refine {refine_steps}" if refine_steps else ""
    rows = [_row(loaded.description, setting, data, original, decoded, sample.mask, encode_s)]
    decoded_images = [decoded]
    for name, suffix in (("jpeg", "jpg"), ("webp", "webp")):
        codec = CODECS[name]
        if codec.available() is not None:
            continue
        start = time.perf_counter()
        setting, classic = largest_setting_within(codec, original, len(data))
        decoded_images.append(codec.decode(classic))
        rows.append(_row(name, f"quality {setting}", classic, original, decoded_images[-1], sample.mask,
                         time.perf_counter() - start))
        atomic_write(out_dir / f"{name}.{suffix}", classic)
    write_report(rows, decoded_images, original, sample.mask, out_dir, ocr)
    return rows


def write_report(rows: list[Row], decoded_images: list[np.ndarray], original: np.ndarray, mask: np.ndarray,
                 out_dir: Path, ocr: str | None) -> None:
    """``results.json`` in the eval schema (one point per codec, the text-region crop kept) and its
    ``report.html``. OCR CER where the engine is installed; the reason it is not, in ``ocr``."""
    import json

    from sclc import html_report
    from sclc.eval.run import POINT_KEYS, PSNR_CAP, SCHEMA, TextReading, crop_box, png_base64
    from sclc.imageio import atomic_write
    from sclc.ocr import available, engine

    reason = available(ocr) if ocr else "not asked for"
    reading = TextReading(engine(ocr), original, None) if reason is None else None
    box = crop_box(mask, *original.shape[:2])
    cut = lambda rgb: png_base64(rgb[box[1]:box[3], box[0]:box[2]])  # noqa: E731
    points = []
    for index, (row, decoded) in enumerate(zip(rows, decoded_images)):
        row.cer = reading.score(decoded)["cer"] if reading else None
        measured = {key: None for key in POINT_KEYS}
        cap = lambda v: None if v is None else min(v, PSNR_CAP)  # noqa: E731
        measured.update(bpp=row.bpp, psnr=cap(row.psnr), text_psnr=cap(row.text_psnr), cer=row.cer,
                        encode_s=row.seconds)
        points.append({"curve": row.codec, "kind": "learned" if index == 0 else "classic", "setting": row.setting,
                       "mean": measured, "images": [{"image": "screenshot.png", "bytes": row.size, **measured,
                                                     "crop": cut(decoded)}]})
    results = {
        "schema": SCHEMA, "data_dir": str(out_dir), "images": ["screenshot.png"],
        "text_mask_source": {"screenshot.png": "generator"}, "cached_text_priors": False,
        "ocr": {"engine": reading.engine.name, "version": reading.engine.version, "originals": {}} if reading
        else {"unavailable": reason},
        "crops": {"screenshot.png": {"box": list(box), "original": cut(original)}},
        "points": points,
    }
    atomic_write(out_dir / "results.json", (json.dumps(results, indent=1) + "\n").encode())
    html_report.write(results, out_dir / "report.html", anchor=rows[0].codec)


def format_rows(rows: list[Row]) -> str:
    with_cer = any(r.cer is not None for r in rows)
    width = max([11] + [len(r.setting) for r in rows])  # "quality 6, refine 30" is wider than "quality 22"
    lines = [f"{'codec':<32} {'setting':<{width}} {'bytes':>8} {'bpp':>7} {'PSNR':>7} {'text PSNR':>10}"
             + (f" {'CER':>6}" if with_cer else ""), "-" * ((87 if with_cer else 80) + width - 11)]
    for r in rows:
        text = "-" if r.text_psnr is None else f"{r.text_psnr:10.2f}"
        cer = (" " + ("     -" if r.cer is None else f"{r.cer:6.3f}")) if with_cer else ""
        lines.append(f"{r.codec:<32} {r.setting:<{width}} {r.size:>8} {r.bpp:>7.4f} {r.psnr:>7.2f} {text:>10}{cer}")
    return "\n".join(lines)
