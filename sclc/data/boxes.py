"""Ground-truth text boxes next to images, and their rasterisation into masks.

Two box formats: ``<stem>.tsv`` with a header row starting ``x0 y0 x1 y1`` (tab or space
separated), and ICDAR ``gt_<stem>.txt`` lines ``x1, y1, x2, y2, "word"``; or a ready mask,
``<stem>.mask.png`` (non-zero = text), e.g. a detector's masks packed beside training crops.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from sclc.errors import SclcError

Box = tuple[int, int, int, int]


class BoxFormatError(SclcError, ValueError):
    """A box file that cannot describe this image (the CLI prints it as one line)."""


def read_tsv(path: Path) -> list[Box]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not lines or lines[0].split()[:4] != ["x0", "y0", "x1", "y1"]:
        raise BoxFormatError(f"{path}: the first line must be a header starting 'x0 y0 x1 y1'")
    boxes = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        try:
            boxes.append(tuple(int(round(float(v))) for v in fields[:4]))
        except (ValueError, IndexError):
            raise BoxFormatError(f"{path}:{number}: expected four numbers, got {line!r}") from None
    return boxes


_ICDAR = re.compile(r"^\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)")
_ICDAR_WORD = re.compile(r'^[^,]*,[^,]*,[^,]*,[^,]*,\s*"(.*)"\s*$')


def read_icdar(path: Path) -> list[Box]:
    boxes = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        match = _ICDAR.match(line)
        if not match:
            raise BoxFormatError(f"{path}:{number}: expected 'x1, y1, x2, y2, \"word\"', got {line!r}")
        boxes.append(tuple(int(v) for v in match.groups()))
    return boxes


def read_words(path: Path) -> list[tuple[Box, str]] | None:
    """The boxes with their transcriptions: the quoted word of ICDAR lines, the ``word`` or ``token``
    column of a ``.tsv``. None where the file carries no transcriptions (a mask, a boxes-only tsv)."""
    if path.name.endswith(".mask.png"):
        return None
    if path.suffix == ".tsv":
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        header = lines[0].split("\t") if lines and "\t" in lines[0] else (lines[0].split() if lines else [])
        column = next((header.index(n) for n in ("word", "token", "text") if n in header), None)
        if column is None:
            return None
        rows = [line.split("\t") if "\t" in line else line.split() for line in lines[1:] if line.strip()]
        words = [row[column] if len(row) > column else "" for row in rows]
    else:
        lines = [line for line in path.read_text(encoding="utf-8-sig", errors="replace").splitlines() if line.strip()]
        words = [m.group(1) if (m := _ICDAR_WORD.match(line)) else "" for line in lines]
    boxes = read_boxes(path)
    return list(zip(boxes, words))


def find_box_file(image: Path, search_dirs: tuple[Path, ...] = ()) -> Path | None:
    """``<stem>.tsv`` or ``gt_<stem>.txt`` beside the image, in a sibling ``gt/``, or in search_dirs."""
    stem = image.stem
    places = [image.parent, image.parent.parent / "gt", *search_dirs]
    for directory in places:
        for name in (f"{stem}.tsv", f"gt_{stem}.txt", f"{stem}.mask.png"):
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def mask_from_file(path: Path, height: int, width: int) -> np.ndarray:
    """The text mask a box file (or mask PNG) gives an image of ``height`` x ``width``."""
    if path.name.endswith(".mask.png"):
        from PIL import Image

        with Image.open(path) as image:
            mask = (np.asarray(image.convert("L")) > 0).astype(np.uint8)
        if mask.shape != (height, width):
            raise BoxFormatError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]}, the image {width}x{height}")
        return mask
    boxes = read_boxes(path)
    # A box wholly outside the image means the file describes another image, typically the
    # uncropped original of a crop: clipping would silently measure the wrong region.
    outside = next((b for b in boxes if min(b[0], b[2]) >= width or min(b[1], b[3]) >= height
                    or max(b[0], b[2]) < 0 or max(b[1], b[3]) < 0), None)
    if outside is not None:
        raise BoxFormatError(f"{path}: box {outside} lies outside the {width}x{height} image "
                             "(boxes of another image size, e.g. the uncropped original?)")
    return rasterize(boxes, height, width)


def centre_crop_and_mask(image: Path, size: int, search_dirs: tuple[Path, ...] = ()):
    """The centred ``size`` x ``size`` crop of an image and the same window of its box mask (None
    where it has no box file): box coordinates refer to the whole image, not to the crop."""
    from sclc.imageio import centre_crop, load_rgb

    rgb = load_rgb(image)
    box_file = find_box_file(image, search_dirs)
    mask = None if box_file is None else centre_crop(mask_from_file(box_file, *rgb.shape[:2]), size)
    return centre_crop(rgb, size), mask


def read_boxes(path: Path) -> list[Box]:
    return read_tsv(path) if path.suffix == ".tsv" else read_icdar(path)


def rasterize(boxes: list[Box], height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.uint8)
    for x0, y0, x1, y1 in boxes:
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        mask[max(y0, 0):min(y1 + 1, height), max(x0, 0):min(x1 + 1, width)] = 1
    return mask
