"""``sclc demo``: a pretrained codec on a generated screenshot, against JPEG and WebP at the same size.

The screenshot comes from the synthetic screen generator, which also gives its exact text mask,
so text-region PSNR needs no detector. Each classic codec gets the highest quality whose file is
no larger than the learned codec's file (the fair comparison: equal or fewer bytes).
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


def run_demo(model: str, quality: float | None, out_dir: Path, width: int, height: int, seed: int) -> list[Row]:
    from sclc.codec import decompress, encode
    from sclc.data.synthetic import render
    from sclc.eval.codecs import CODECS
    from sclc.imageio import atomic_write, save_image
    from sclc.resolve import load_model

    sample = render(seed, width, height)
    original = np.asarray(sample.image)
    loaded = load_model(model, quality=quality)
    start = time.perf_counter()
    data = encode(sample.image, loaded).data
    encode_s = time.perf_counter() - start
    decoded = np.asarray(decompress(data).convert("RGB"))  # from the file alone, as a receiver would
    out_dir.mkdir(parents=True, exist_ok=True)
    save_image(sample.image, out_dir / "original.png")
    atomic_write(out_dir / "screenshot.sclc", data)
    save_image(Image.fromarray(decoded), out_dir / "sclc.png")
    setting = "-" if loaded.quality is None else f"quality {loaded.quality:g}"
    rows = [_row(loaded.description, setting, data, original, decoded, sample.mask, encode_s)]
    for name, suffix in (("jpeg", "jpg"), ("webp", "webp")):
        codec = CODECS[name]
        if codec.available() is not None:
            continue
        start = time.perf_counter()
        setting, classic = largest_setting_within(codec, original, len(data))
        rows.append(_row(name, f"quality {setting}", classic, original, codec.decode(classic), sample.mask,
                         time.perf_counter() - start))
        atomic_write(out_dir / f"{name}.{suffix}", classic)
    return rows


def format_rows(rows: list[Row]) -> str:
    lines = [f"{'codec':<32} {'setting':<11} {'bytes':>8} {'bpp':>7} {'PSNR':>7} {'text PSNR':>10}",
             "-" * 80]
    for r in rows:
        text = "-" if r.text_psnr is None else f"{r.text_psnr:10.2f}"
        lines.append(f"{r.codec:<32} {r.setting:<11} {r.size:>8} {r.bpp:>7.4f} {r.psnr:>7.2f} {text:>10}")
    return "\n".join(lines)
