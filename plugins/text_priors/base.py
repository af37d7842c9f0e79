"""What every text detector shares: input normalisation, padding to the network stride, and
turning a text-probability map into a binary H x W mask (threshold, then optional dilation)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from sclc.errors import SclcError
from sclc.schema import at_least, within

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class MaskParams:
    threshold: float = 0.5  # probability above which a pixel is text
    dilation: int = 0  # grow the mask by this many pixels (square structuring element)
    boxes: bool = True  # fill each connected text region's bounding box (word/line boxes, like GT)
    min_area: int = 0  # drop connected regions smaller than this many pixels
    # run the network on the image resized by each factor and average the text probabilities
    # (>1 finds smaller text at scale^2 the cost; several scales = test-time multi-scale)
    scales: tuple[float, ...] = (1.0,)

    def __post_init__(self):
        if not self.scales:
            raise ValueError("scales is empty: give at least one factor, e.g. [1.0]")
        for scale in self.scales:
            if not 0.05 <= scale <= 8:
                raise ValueError(f"scale = {scale} in scales must lie in [0.05, 8]")
        within(self, 0, 1, "threshold")
        at_least(self, 0, "dilation", "min_area")


def normalize(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    return F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple), mode="replicate" if min(h, w) > 1 else "constant")


def rescale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """The image resized by ``scale`` (at least 1 pixel a side), as the network will see it."""
    if scale == 1.0:
        return x
    size = tuple(max(1, round(s * scale)) for s in x.shape[-2:])
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)


def dilate(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    if pixels <= 0:
        return mask
    return F.max_pool2d(mask, kernel_size=2 * pixels + 1, stride=1, padding=pixels)


class TextDetector(nn.Module):
    """Subclasses implement ``text_probability(x_normalised_padded) -> (B,1,h,w) in [0,1]``
    at any resolution; the base class handles sizes and binarisation."""

    stride = 32

    def __init__(self, mask: MaskParams = MaskParams()):
        super().__init__()
        self.mask_params = mask

    def text_probability(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def probability(self, x: torch.Tensor) -> torch.Tensor:
        """Text probability at the input's full H x W: the mean over ``scales``."""
        total = None
        for scale in self.mask_params.scales:
            prob = self.probability_at(x, scale)
            total = prob if total is None else total.add_(prob)
        return total / len(self.mask_params.scales)

    def probability_at(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        """Text probability of the network run on ``x`` resized by ``scale``, at ``x``'s H x W."""
        h, w = x.shape[-2:]
        x = rescale(x, scale)
        padded = pad_to(normalize(x), self.stride)
        prob = self.text_probability(padded)
        full = F.interpolate(prob, size=padded.shape[-2:], mode="bilinear", align_corners=False)
        full = full[..., : x.shape[-2], : x.shape[-1]]
        if full.shape[-2:] != (h, w):
            full = F.interpolate(full, size=(h, w), mode="bilinear", align_corners=False)
        return full

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = (self.probability(x) > self.mask_params.threshold).to(x.dtype)
        return postprocess(mask, self.mask_params)


def postprocess(mask: torch.Tensor, params: MaskParams) -> torch.Tensor:
    """Binary (B,1,H,W) mask -> minimum-area filter, box filling, dilation (in that order)."""
    if params.min_area or params.boxes:
        from scipy import ndimage

        out = torch.zeros_like(mask)
        for b in range(mask.shape[0]):
            labels, count = ndimage.label(mask[b, 0].cpu().numpy() > 0)
            for index, region in enumerate(ndimage.find_objects(labels), start=1):
                if region is None:
                    continue
                area = int((labels[region] == index).sum())
                if area < params.min_area:
                    continue
                if params.boxes:
                    out[b, 0][region] = 1
                else:
                    out[b, 0][region] = torch.maximum(out[b, 0][region], torch.from_numpy(
                        (labels[region] == index).astype("float32")).to(out))
        mask = out
    return dilate(mask, params.dilation)


WEIGHTS_DIR = Path(__file__).parent / "weights"


def read_state(path: str | Path) -> dict:
    """A state dict of plain tensors; a file with pickled code in it is refused, not run."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        unsafe = next((line.strip() for line in str(exc).splitlines() if "GLOBAL" in line), "not a torch file")
        raise SclcError(f"refusing detector weights {path}: {unsafe}") from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise SclcError(f"cannot read detector weights {path}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SclcError(f"detector weights {path} are not a state dict of tensors")
    return state


def load_weights(net: nn.Module, choice: str, shipped_name: str) -> bool:
    """``"shipped"``: the weights trained by sclc and installed with it (if present); ``"none"``:
    random init; anything else: a state-dict path. Returns whether weights were loaded."""
    if choice == "none":
        return False
    path = WEIGHTS_DIR / shipped_name if choice == "shipped" else Path(choice)
    if choice == "shipped" and not path.is_file():
        return False
    if not path.is_file():
        raise SclcError(f"detector weights {path}: no such file")
    state = read_state(path)
    try:
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except (RuntimeError, OSError, AttributeError) as exc:
        first = str(exc).strip().splitlines()
        detail = next((line.strip() for line in first[1:] if line.strip()), first[0] if first else "")
        detail = detail if len(detail) <= 300 else detail[:300] + " ..."
        raise SclcError(f"detector weights {path} do not fit this {type(net).__name__} "
                        f"(another backbone or detector?): {detail}") from None
    return True


def rasterize_rboxes(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Fill rotated boxes (K, 5: cx, cy, w, h, angle in radians) into a (1, H, W) mask."""
    mask = torch.zeros(1, height, width, dtype=torch.float32, device=boxes.device)
    for cx, cy, bw, bh, angle in boxes.tolist():
        cos, sin = abs(torch.cos(torch.tensor(angle)).item()), abs(torch.sin(torch.tensor(angle)).item())
        half_w, half_h = (bw * cos + bh * sin) / 2, (bw * sin + bh * cos) / 2
        x0, x1 = max(int(cx - half_w), 0), min(int(cx + half_w) + 1, width)
        y0, y1 = max(int(cy - half_h), 0), min(int(cy + half_h) + 1, height)
        if x0 >= x1 or y0 >= y1:
            continue
        ys = torch.arange(y0, y1, device=boxes.device, dtype=torch.float32)[:, None] + 0.5 - cy
        xs = torch.arange(x0, x1, device=boxes.device, dtype=torch.float32)[None, :] + 0.5 - cx
        c, s = torch.cos(torch.tensor(angle)), torch.sin(torch.tensor(angle))
        u, v = xs * c + ys * s, -xs * s + ys * c  # box-aligned coordinates
        inside = (u.abs() <= bw / 2) & (v.abs() <= bh / 2)
        mask[0, y0:y1, x0:x1] = torch.maximum(mask[0, y0:y1, x0:x1], inside.float())
    return mask
