"""Training samples as a pure function of (seed, position) in an endless stream.

``StreamSampler`` yields positions 0, 1, 2, ... (rank r of w gets r, r+w, ...), and
``CropStream[position]`` picks an image by a per-epoch permutation and a crop/flip from a
generator seeded with (seed, position). No global RNG is touched, so a resumed run that starts
the sampler at its next position (``sclc.train.loop``) sees exactly the data of an uninterrupted run.
"""

from __future__ import annotations

import itertools
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from sclc.data.quality_maps import random_quality_map
from sclc.data.synthetic import render
from sclc.imageio import rgb_to_tensor


class Source(Protocol):
    def __len__(self) -> int: ...
    def load(self, index: int) -> tuple[np.ndarray, np.ndarray | None]: ...


class SyntheticSource:
    """Endless variety of generated screens, rendered on demand at ``size`` (square)."""

    def __init__(self, size: int, count: int = 100_000, seed: int = 0):
        self.size, self.count, self.seed = size, count, seed

    def __len__(self) -> int:
        return self.count

    def load(self, index: int):
        sample = render(self.seed * 1_000_003 + index, self.size, self.size)
        return np.asarray(sample.image), sample.mask


def luma_std(rgb: np.ndarray) -> float:
    """Standard deviation of the luma, in grey levels: near 0 for a blank crop."""
    return float((rgb[..., :3].astype(np.float32) @ np.float32([0.299, 0.587, 0.114])).std())


def crop_sample(rgb: np.ndarray, mask: np.ndarray | None, crop: int, rng: np.random.Generator | None,
                flip: bool, min_std: float = 0.0, tries: int = 8) -> dict:
    """Random (or centre, when rng is None) crop; images smaller than the crop are edge-padded.

    A random crop whose luma varies by less than ``min_std`` grey levels (blank margins, empty
    slide areas) is drawn again, up to ``tries`` times: a blank crop teaches the codec nothing.
    """
    h, w = rgb.shape[:2]
    if mask is None:
        mask = np.zeros((h, w), dtype=np.uint8)
    if h < crop or w < crop:
        pad = ((0, max(crop - h, 0)), (0, max(crop - w, 0)))
        rgb = np.pad(rgb, (*pad, (0, 0)), mode="edge")
        mask = np.pad(mask, pad, mode="constant")
        h, w = rgb.shape[:2]
    if rng is None:
        top, left = (h - crop) // 2, (w - crop) // 2
    else:
        for _ in range(max(tries, 1)):
            top, left = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
            if min_std <= 0 or luma_std(rgb[top:top + crop, left:left + crop]) >= min_std:
                break
    rgb, mask = rgb[top:top + crop, left:left + crop], mask[top:top + crop, left:left + crop]
    if rng is not None and flip and rng.random() < 0.5:
        rgb, mask = rgb[:, ::-1], mask[:, ::-1]
    image = rgb_to_tensor(rgb)[0]
    return {"inputs": image, "mask": torch.from_numpy(np.array(mask, dtype=np.float32)).unsqueeze(0)}


class CropStream(Dataset):
    """``rate``: a VariableRateSpec; each sample then carries a random quality map ``qmap``."""

    def __init__(self, source: Source, crop: int, seed: int = 0, flip: bool = True, min_std: float = 0.0,
                 rate=None):
        self.source, self.crop, self.seed, self.flip = source, crop, seed, flip
        self.min_std, self.rate = min_std, rate
        self._perm_epoch, self._perm = -1, None

    def __len__(self) -> int:
        return len(self.source)

    def _index(self, position: int) -> int:
        epoch, k = divmod(position, len(self.source))
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.source))
            self._perm_epoch = epoch
        return int(self._perm[k])

    def __getitem__(self, position: int) -> dict:
        rgb, mask = self.source.load(self._index(position))
        rng = np.random.default_rng([self.seed, position, 7])
        sample = crop_sample(rgb, mask, self.crop, rng, self.flip, self.min_std)
        if self.rate is not None:
            q = random_quality_map(rng, self.crop, sample["mask"][0].numpy(), self.rate.text_boost)
            sample["qmap"] = torch.from_numpy(q).unsqueeze(0)
        return sample


VAL_LEVELS = (0.0, 0.5, 1.0)  # uniform quality maps at which each validation image is measured


class FixedCrops(Dataset):
    """Validation: ``count`` images spread evenly over a source (a sorted folder groups its kinds),
    centre-cropped, always the same; with ``rate``, every image at every level of VAL_LEVELS, so
    the per-level metrics compare the same images."""

    def __init__(self, source: Source, crop: int, count: int, rate=None):
        self.source, self.crop, self.count, self.rate = source, crop, min(count, len(source)), rate
        self.levels = VAL_LEVELS if rate is not None else (None,)

    def __len__(self) -> int:
        return self.count * len(self.levels)

    def __getitem__(self, index: int) -> dict:
        image, level = divmod(index, len(self.levels))
        rgb, mask = self.source.load(image * len(self.source) // self.count)
        sample = crop_sample(rgb, mask, self.crop, None, flip=False)
        if self.rate is not None:
            sample["qmap"] = torch.full_like(sample["mask"], self.levels[level])
        return sample


class StreamSampler(Sampler):
    def __init__(self, dataset, seed: int | None = None):
        from mmengine.dist import get_dist_info

        self.rank, self.world_size = get_dist_info()
        self.epoch_length = max(len(dataset) // self.world_size, 1)
        self.start = 0

    def start_at_batch(self, batch: int, batch_size: int) -> None:
        """Begin where ``batch`` batches of ``batch_size`` per rank have been drawn (a resume)."""
        self.start = batch * batch_size * self.world_size

    def __len__(self) -> int:  # one pass over the source; the stream itself never ends
        return self.epoch_length

    def __iter__(self):
        return itertools.count(self.start + self.rank, self.world_size)

    def set_epoch(self, epoch: int) -> None:  # called by mmengine; positions already encode it
        pass
