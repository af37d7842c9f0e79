"""An image folder as a training/evaluation source, with text masks from boxes or a detector.

Images: png, jpg, jpeg, bmp, webp, found recursively. Unreadable files are skipped with a
warning and counted (``skipped``), both when the folder is scanned and if one fails later.
Decoded images and their masks are kept in memory up to ``cache_mb``: decoding a large PNG for
every crop otherwise costs more than the training step of a small model.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from sclc.data.boxes import find_box_file, mask_from_file
from sclc.errors import SclcError
from sclc.imageio import load_rgb

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def list_images(root: Path) -> list[Path]:
    if not root.is_dir():
        raise SclcError(f"image folder {root} does not exist")
    # <stem>.mask.png beside an image is its text mask (sclc.data.boxes), not another image
    return sorted(p for p in root.rglob("*")
                  if p.suffix.lower() in EXTENSIONS and not p.name.endswith(".mask.png") and p.is_file())


class ImageFolder:
    """``load(i) -> (RGB uint8 array (H,W,3), text mask uint8 (H,W) or None)``."""

    def __init__(self, root: str | Path | tuple, masks: str = "boxes", box_dirs: tuple[str, ...] = (),
                 detector: Callable[[np.ndarray, Path], np.ndarray] | None = None, cache_mb: int = 0):
        """``root``: one folder, or several whose images are mixed into one source."""
        roots = [Path(r) for r in ((root,) if isinstance(root, (str, Path)) else root)]
        self.root = ", ".join(map(str, roots))
        self._cache: dict[Path, tuple[np.ndarray, np.ndarray | None]] = {}
        self._cache_left = cache_mb * 2**20
        self.masks, self.detector = masks, detector
        self.box_dirs = tuple(Path(d) for d in box_dirs)
        self.skipped: list[str] = []
        self.paths = [p for r in roots for p in list_images(r) if self._readable(p)]
        if not self.paths:
            raise SclcError(f"no readable images (png, jpg, bmp, webp) under {self.root}")

    def _readable(self, path: Path) -> bool:
        try:
            with Image.open(path) as image:
                image.verify()
            return True
        except Exception as exc:  # any decoder error means: skip this file
            self._skip(path, exc)
            return False

    def _skip(self, path: Path, exc: Exception) -> None:
        self.skipped.append(str(path))
        warnings.warn(f"skipping unreadable image {path}: {exc}", stacklevel=3)

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Load image ``index``; a file that fails now is skipped for the next readable one."""
        for offset in range(len(self.paths)):
            path = self.paths[(index + offset) % len(self.paths)]
            if str(path) in self.skipped:
                continue
            if path in self._cache:
                return self._cache[path]
            try:
                rgb = load_rgb(path)
            except Exception as exc:
                self._skip(path, exc)
                continue
            sample = rgb, self.mask_for(path, rgb)
            size = rgb.nbytes + (0 if sample[1] is None else sample[1].nbytes)
            if size <= self._cache_left:
                self._cache[path] = sample
                self._cache_left -= size
            return sample
        raise SclcError(f"no readable images left under {self.root}")

    def mask_for(self, path: Path, rgb: np.ndarray) -> np.ndarray | None:
        if self.masks == "none":
            return None
        if self.masks == "detector":
            return self.detector(rgb, path)
        box_file = find_box_file(path, self.box_dirs)
        if box_file is None:
            return np.zeros(rgb.shape[:2], dtype=np.uint8)  # no boxes: no text known
        return mask_from_file(box_file, *rgb.shape[:2])  # a BoxFormatError is an SclcError
