"""Detector masks computed once per image and cached on disk.

Key: SHA-256 of the image file + detector name + its parameters. Files are written atomically,
so an interrupted run never leaves a half-written mask behind.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sclc.imageio import atomic_write, detect_mask


class MaskCache:
    def __init__(self, directory: str | Path, detector_name: str, detector_params, detector: torch.nn.Module):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        params = json.dumps(_plain(detector_params), sort_keys=True)
        self.tag = hashlib.sha256(f"{detector_name}|{params}".encode()).hexdigest()[:16]
        self.detector = detector
        self.hits = self.misses = 0

    def path_for(self, image_path: Path) -> Path:
        digest = hashlib.sha256(Path(image_path).read_bytes()).hexdigest()[:32]
        return self.directory / f"{digest}_{self.tag}.png"

    def __call__(self, rgb: np.ndarray, image_path: Path) -> np.ndarray:
        cached = self.path_for(image_path)
        if cached.exists():
            self.hits += 1
            return (np.asarray(Image.open(cached)) > 0).astype(np.uint8)
        self.misses += 1
        mask = detect_mask(self.detector, rgb)
        buffer = io.BytesIO()
        Image.fromarray(mask * 255).save(buffer, format="PNG")
        atomic_write(cached, buffer.getvalue())
        return mask


def _plain(params):
    import dataclasses

    return dataclasses.asdict(params) if dataclasses.is_dataclass(params) else params
