"""Random quality maps for variable-rate training (after Song et al. 2021's training maps).

Each crop gets one of: a uniform level, a linear gradient between two levels, a few soft blobs
over a base level; then, half the time, q is raised on the text mask (what ``--text-quality``
asks for at compress time). Maps are a pure function of the generator passed in, so the data
stream stays reproducible on resume.
"""

from __future__ import annotations

import numpy as np


def random_quality_map(rng: np.random.Generator, size: int, text_mask: np.ndarray | None,
                       text_boost: float) -> np.ndarray:
    """(size, size) float32 map in [0, 1]."""
    kind = rng.choice(("uniform", "uniform", "gradient", "blobs"))
    if kind == "uniform":
        q = np.full((size, size), rng.random(), dtype=np.float32)
    elif kind == "gradient":
        low, high = np.sort(rng.random(2))
        angle = rng.random() * 2 * np.pi
        yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
        t = np.cos(angle) * xx + np.sin(angle) * yy
        t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
        q = (low + (high - low) * t).astype(np.float32)
    else:
        q = np.full((size, size), rng.random() * 0.6, dtype=np.float32)
        yy, xx = np.mgrid[0:size, 0:size]
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.random(2) * size
            radius = size * (0.1 + 0.3 * rng.random())
            bump = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2)).astype(np.float32)
            q = np.maximum(q, bump * rng.random())
    if text_mask is not None and text_boost > 0 and rng.random() < 0.5:
        q = q + text_boost * rng.random() * (text_mask > 0)
    return np.clip(q, 0.0, 1.0).astype(np.float32)
