"""``sclc train-detector``: train a text detector on word/line boxes.

A small trainer of its own rather than the codec's mmengine Runner: detectors train with one
optimiser on box targets, need none of the rate-distortion machinery (two optimisers, entropy
models, RD metrics), and a plain loop keeps their target construction in view. Each detector
plugin supplies ``training_loss(images, masks, boxes)`` (images in [0, 1]; the detector normalises
them as it does when detecting); this module supplies the data: images
with ground-truth boxes (ICDAR ``images/`` + ``gt/``, or a folder with ``<stem>.tsv`` files in it or
in a named box folder) mixed with synthetic screens and their exact boxes.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sclc.data.boxes import find_box_file, read_boxes
from sclc.data.folder import list_images
from sclc.data.synthetic import render
from sclc.errors import SclcError
from sclc.imageio import atomic_write, rgb_to_tensor

Boxes = np.ndarray  # (K, 4) x0, y0, x1, y1 (end-exclusive)


@dataclass
class BoxedImage:
    path: Path
    box_file: Path | None  # None: boxes come from a teacher detector (distillation)


def collect(entries: list[str], exclude: set[str] = frozenset()) -> list[BoxedImage]:
    """``DIR`` or ``DIR:BOXDIR`` entries -> images that have box files (ICDAR layout understood)."""
    out = []
    for entry in entries:
        folder, _, box_dir = entry.partition(":")
        root = Path(folder)
        images = root / "images" if (root / "images").is_dir() else root
        search = (Path(box_dir),) if box_dir else ()
        for path in list_images(images):
            box_file = find_box_file(path, search)
            if box_file is not None and path.name not in exclude:
                out.append(BoxedImage(path, box_file))
    return out


def collect_unlabelled(folders: list[str]) -> list[BoxedImage]:
    """Images without ground truth (e.g. screenshots), to be labelled by a teacher detector."""
    return [BoxedImage(path, None) for folder in folders for path in list_images(Path(folder))]


def teacher_cache(name: str, directory: Path):
    """Detector ``name`` as a teacher whose masks are computed once per image, kept in ``directory``."""
    from sclc.data.mask_cache import MaskCache
    from sclc.detect import load_detector

    return MaskCache(directory, name, {}, load_detector(name))


def mask_to_boxes(mask: np.ndarray) -> Boxes:
    """Bounding boxes of the connected regions of a binary mask."""
    from scipy import ndimage

    labels, _ = ndimage.label(mask > 0)
    boxes = [(r[1].start, r[0].start, r[1].stop, r[0].stop) for r in ndimage.find_objects(labels) if r]
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


def _boxes_array(boxes) -> Boxes:
    array = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    x0, x1 = np.minimum(array[:, 0], array[:, 2]), np.maximum(array[:, 0], array[:, 2]) + 1
    y0, y1 = np.minimum(array[:, 1], array[:, 3]), np.maximum(array[:, 1], array[:, 3]) + 1
    return np.stack([x0, y0, x1, y1], axis=1)


def random_crop(rgb: np.ndarray, boxes: Boxes, crop: int, rng: np.random.Generator,
                scale_range=(0.5, 1.0)) -> tuple[np.ndarray, Boxes]:
    """A crop x crop window of the image resized by a random factor in ``scale_range`` (images
    smaller than the crop are not shrunk further), with the boxes that mostly lie inside it."""
    low, high = scale_range
    if max(rgb.shape[:2]) <= crop:
        low = max(low, 1.0)
    scale = rng.uniform(low, max(low, high))
    if scale != 1.0:
        h, w = rgb.shape[:2]
        size = (max(int(w * scale), 1), max(int(h * scale), 1))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))
        boxes = boxes * scale
    h, w = rgb.shape[:2]
    if h < crop or w < crop:
        rgb = np.pad(rgb, ((0, max(crop - h, 0)), (0, max(crop - w, 0)), (0, 0)), mode="edge")
        h, w = rgb.shape[:2]
    top, left = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    rgb = rgb[top:top + crop, left:left + crop]
    boxes = boxes - np.array([left, top, left, top], dtype=np.float32)
    clipped = np.clip(boxes, 0, crop)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    return rgb, clipped[kept > 0.5 * np.maximum(area, 1e-6)]  # drop words mostly outside the crop


def boxes_to_mask(boxes: Boxes, size: int) -> np.ndarray:
    mask = np.zeros((size, size), dtype=np.float32)
    for x0, y0, x1, y1 in boxes.astype(int):
        mask[y0:y1, x0:x1] = 1
    return mask


class Sampler:
    def __init__(self, items: list[BoxedImage], crop: int, synthetic_fraction: float, seed: int, teacher=None,
                 scale_range=(0.5, 1.0)):
        self.items, self.crop, self.synthetic_fraction, self.teacher = items, crop, synthetic_fraction, teacher
        self.scale_range = scale_range
        self.rng = np.random.default_rng(seed)
        self._cache: dict[Path, tuple[np.ndarray, Boxes]] = {}

    def _load(self, item: BoxedImage):
        if item.path not in self._cache:
            from sclc.imageio import load_rgb

            rgb = load_rgb(item.path)
            if item.box_file is not None:
                boxes = _boxes_array(read_boxes(item.box_file))
            elif self.teacher is not None:
                boxes = mask_to_boxes(self.teacher(rgb, item.path))
            else:
                raise SclcError(f"{item.path} has no boxes and no teacher detector was given")
            self._cache[item.path] = (rgb, boxes)
        return self._cache[item.path]

    def sample(self) -> tuple[np.ndarray, Boxes]:
        if not self.items or self.rng.random() < self.synthetic_fraction:
            s = render(int(self.rng.integers(0, 2**31)), self.crop, self.crop)
            return np.asarray(s.image), _boxes_array(s.boxes) if s.boxes else np.zeros((0, 4), np.float32)
        rgb, boxes = self._load(self.items[int(self.rng.integers(0, len(self.items)))])
        return random_crop(rgb, boxes, self.crop, self.rng, self.scale_range)

    def batch(self, size: int):
        images, masks, boxes = [], [], []
        for _ in range(size):
            rgb, b = self.sample()
            images.append(rgb_to_tensor(rgb)[0])
            masks.append(torch.from_numpy(boxes_to_mask(b, self.crop))[None])
            boxes.append(torch.from_numpy(np.asarray(b, dtype=np.float32).reshape(-1, 4)))
        return torch.stack(images), torch.stack(masks), boxes


def train_detector(detector: torch.nn.Module, items: list[BoxedImage], *, iters: int, crop: int = 256,
                   batch_size: int = 8, lr: float = 1e-3, synthetic_fraction: float = 0.25, seed: int = 0,
                   log_every: int = 50, log=None, teacher=None, scale_range=(0.5, 1.0),
                   save_every: int = 0, save=None) -> list[float]:
    """``teacher(rgb, path) -> mask`` labels items without boxes (e.g. CRAFT distilled into EAST).
    ``save(step)`` is called every ``save_every`` steps, so a long run leaves usable weights behind."""
    if not hasattr(detector, "training_loss"):
        raise SclcError(f"{type(detector).__name__} has no training_loss: it cannot be trained here")
    log = log or (lambda line: print(line, flush=True))  # flushed: runs are followed in redirected logs
    torch.manual_seed(seed)
    sampler = Sampler(items, crop, synthetic_fraction, seed, teacher, scale_range)
    params = [p for p in detector.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=iters, pct_start=0.1)
    detector.train()
    losses, start = [], time.perf_counter()
    for step in range(1, iters + 1):
        images, masks, boxes = sampler.batch(batch_size)
        loss = detector.training_loss(images, masks, boxes)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if log_every and step % log_every == 0:
            log(f"step {step}/{iters}  loss {np.mean(losses[-log_every:]):.4f}  {time.perf_counter() - start:.0f} s")
        if save is not None and save_every and step % save_every == 0 and step < iters:
            detector.eval()
            save(step)
            detector.train()
    detector.eval()
    return losses


def save_weights(module: torch.nn.Module, path: str | Path, half: bool = True) -> None:
    """State dict (float16 by default: shipped weights stay small) written atomically."""
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in module.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, buffer.getvalue())
