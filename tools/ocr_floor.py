"""The OCR metric's own floor: CER of each engine on ICDAR 2013 Born-Digital training originals
against their ground-truth words (``gt_img_N.txt``), and its speed.

    OMP_NUM_THREADS=1 python tools/ocr_floor.py /work/shared/data/textdet/icdar2013 --engine tesseract easyocr
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sclc import ocr
from sclc.data.boxes import find_box_file, read_words
from sclc.data.folder import list_images
from sclc.imageio import load_rgb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="images/ and gt/gt_<stem>.txt")
    parser.add_argument("--engine", nargs="+", default=["tesseract"])
    parser.add_argument("--every", type=int, default=1, help="every Nth image (default all)")
    args = parser.parse_args()
    root = Path(args.data_dir)
    paths = list_images(root / "images" if (root / "images").is_dir() else root)[:: args.every]
    for name in args.engine:
        engine = ocr.engine(name)
        errors = chars = 0
        seconds = 0.0
        per_image = []
        for path in paths:
            box_file = find_box_file(path)
            truth = read_words(box_file) if box_file else None
            if not truth:
                continue
            rgb = load_rgb(path)
            start = time.perf_counter()
            words = engine.read(rgb)
            seconds += time.perf_counter() - start
            e, c = ocr.word_errors(truth, words)
            errors, chars = errors + e, chars + c
            per_image.append(e / c if c else 0.0)
        n = len(per_image)
        print(f"{name} {engine.version}: {n} images, {chars} ground-truth characters, CER {errors / chars:.4f} "
              f"(mean per image {sum(per_image) / n:.4f}), {seconds / n:.3f} s per image")


if __name__ == "__main__":
    main()
