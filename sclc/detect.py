"""Text detectors as tools: ``sclc detect`` (mask + overlay) and ``sclc detect-eval`` (pixel P/R/F1, speed)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from sclc.data.boxes import find_box_file, rasterize, read_boxes
from sclc.data.folder import list_images
from sclc.data.icdar import split_images
from sclc.errors import SclcError
from sclc.imageio import detect_mask
from sclc.registry import default_registry
from sclc.schema import Locator, from_table
from sclc.spec import parse_override


def detector_params(name: str, overrides: list[str] = ()):
    """The checked parameters of text prior ``name`` with ``--set`` overrides (None: it has none)."""
    component = default_registry().get("text_prior", name)
    table = {}
    for item in overrides:
        path, value = parse_override(item)
        table[".".join(path)] = value
    return (from_table(component.params, table, path=("text_prior",), locator=Locator(source="--set"),
                       label=f"text prior '{name}'") if component.params else None)


def load_detector(name: str, overrides: list[str] = ()) -> torch.nn.Module:
    params = detector_params(name, overrides)
    return default_registry().get("text_prior", name).factory(params).eval()


def overlay(rgb: np.ndarray, mask: np.ndarray) -> Image.Image:
    """The image with text pixels tinted red and each connected region outlined."""
    from scipy import ndimage

    tinted = rgb.astype(np.float32)
    tinted[mask > 0] = 0.5 * tinted[mask > 0] + 0.5 * np.array([255, 0, 0])
    image = Image.fromarray(tinted.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    labels, _ = ndimage.label(mask > 0)
    for region in ndimage.find_objects(labels):
        if region is not None:
            ys, xs = region
            draw.rectangle([xs.start, ys.start, xs.stop - 1, ys.stop - 1], outline=(255, 0, 0))
    return image


def ground_truth(path: Path, shape, box_dirs: tuple[Path, ...] = ()) -> np.ndarray | None:
    box_file = find_box_file(path, box_dirs)
    return None if box_file is None else rasterize(read_boxes(box_file), *shape)


def evaluate_detector(detector: torch.nn.Module, data_dir: str | Path, split: str = "all",
                      limit: int | None = None, box_dirs: tuple[Path, ...] = ()) -> dict:
    from sclc.imageio import load_rgb

    root = Path(data_dir)
    images = root / "images" if (root / "images").is_dir() else root
    paths = [p for p in split_images(list_images(images), split) if find_box_file(p, box_dirs) is not None][:limit]
    if not paths:
        raise SclcError(f"no images with ground-truth boxes under {data_dir}")
    tp = fp = fn = 0
    seconds = megapixels = 0.0
    for path in paths:
        rgb = load_rgb(path)
        truth = ground_truth(path, rgb.shape[:2], box_dirs).astype(bool)
        start = time.perf_counter()
        predicted = detect_mask(detector, rgb).astype(bool)
        seconds += time.perf_counter() - start
        megapixels += rgb.shape[0] * rgb.shape[1] / 1e6
        tp += int((predicted & truth).sum())
        fp += int((predicted & ~truth).sum())
        fn += int((~predicted & truth).sum())
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"images": len(paths), "split": split, "precision": precision, "recall": recall, "f1": f1,
            "seconds_per_megapixel": seconds / megapixels, "seconds_per_image": seconds / len(paths)}
