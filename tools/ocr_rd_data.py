"""The data of the CER RD table: centre crops of every Nth slide and arXiv page of ``sci/dev``, with
the ground-truth words that lie wholly inside each crop (``<stem>.tsv``, x0 y0 x1 y1 word).

    python tools/ocr_rd_data.py /work/shared/data work_dirs/ocr_rd/data --every 4 --crop 512
    sclc eval work_dirs/ocr_rd/data --ocr tesseract --codec jpeg --codec webp --codec avif \\
        --codec jpegxl --model sci --model wacnn --qualities 1 4 8 --out work_dirs/ocr_rd/results.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from sclc.data.boxes import find_box_file, read_words
from sclc.data.folder import list_images
from sclc.imageio import centre_window, load_rgb, save_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_root", help="the shared data folder (sci/dev, textdet/slides, textdet/docbank)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--crop", type=int, default=512)
    args = parser.parse_args()
    root = Path(args.data_root)
    box_dirs = (root / "textdet/slides/words", root / "textdet/docbank/tokens")
    paths = [p for p in list_images(root / "sci/dev") if p.name.startswith(("slide_", "doc_"))][:: args.every]
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        rgb = load_rgb(path)
        h, w = rgb.shape[:2]
        top, left = centre_window(h, w, args.crop)
        bottom, right = min(top + args.crop, h), min(left + args.crop, w)
        save_image(Image.fromarray(rgb[top:bottom, left:right]), args.out / f"{path.stem}.png")
        rows = ["x0\ty0\tx1\ty1\tword"]
        for (x0, y0, x1, y1), word in read_words(find_box_file(path, box_dirs)) or []:
            if left <= x0 and x1 < right and top <= y0 and y1 < bottom and word.strip():
                rows.append(f"{x0 - left}\t{y0 - top}\t{x1 - left}\t{y1 - top}\t{word}")
        (args.out / f"{path.stem}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        print(f"{path.name}: {len(rows) - 1} words")


if __name__ == "__main__":
    main()
