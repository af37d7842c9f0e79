"""Reading any image Pillow can open into a (1,3,H,W) float tensor, and writing results atomically."""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from sclc import limits
from sclc.errors import SclcError

# Colour modes recorded in the bitstream: how the decoded RGB is turned back into an image.
MODE_RGB, MODE_GRAY = 0, 1
MODE_NAMES = {MODE_RGB: "RGB", MODE_GRAY: "L"}
_ORIENTATION = 0x0112  # the EXIF tag


@dataclass(frozen=True)
class Prepared:
    tensor: torch.Tensor  # (1, 3, H, W) float32 in [0, 1]
    mode: int  # MODE_RGB or MODE_GRAY
    notes: tuple[str, ...]  # conversions applied, for the user


def _to_8bit(image: Image.Image, notes: list[str]) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        data = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or data.max() > 255 else 255.0
        notes.append(f"{image.mode} ({'16' if peak > 255 else '32'}-bit) input converted to 8-bit")
        return Image.fromarray(np.clip(np.round(data / peak * 255.0), 0, 255).astype(np.uint8))
    if image.mode == "F":
        data = np.asarray(image, dtype=np.float64)
        notes.append("floating-point input scaled to 8-bit from its [min, max] range")
        span = max(data.max() - data.min(), 1e-12)
        return Image.fromarray(np.round((data - data.min()) / span * 255).astype(np.uint8))
    return image


def prepare_image(image: Image.Image) -> Prepared:
    """Grayscale is replicated to RGB (and decoded back to grayscale); alpha is composited on
    white (a warning says so); 16-bit and palette images are converted."""
    limits.check_pixels(*image.size, "the image")
    notes: list[str] = []
    image = _to_8bit(image, notes)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        notes.append(f"{image.mode} input: alpha composited on white (the codec stores no alpha)")
        warnings.warn(notes[-1], stacklevel=3)
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        gray = image.mode in ("LA", "La")
        image = Image.alpha_composite(background, image.convert("RGBA")).convert("L" if gray else "RGB")
    if image.mode == "1":
        image = image.convert("L")
    mode = MODE_GRAY if image.mode == "L" else MODE_RGB
    if image.mode not in ("L", "RGB"):
        notes.append(f"{image.mode} input converted to RGB")
        image = image.convert("RGB")
    array = np.asarray(image, dtype=np.float32) / 255.0
    tensor = torch.from_numpy(array.copy())
    tensor = tensor.expand(3, -1, -1) if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    return Prepared(tensor.unsqueeze(0).contiguous(), mode, tuple(notes))


def open_image(path: str | Path) -> tuple[Image.Image, tuple[str, ...]]:
    """An image file, checked before its pixels are decoded: the size against the pixel limit
    (a few bytes can describe a gigapixel), truncation is an error, an animation gives its first
    frame and EXIF orientation is applied. Returns the image and notes for the user."""
    notes = []
    pillow_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # ours (SCLC_MAX_PIXELS) is checked below, with our message
    try:
        with Image.open(path) as image:
            limits.check_pixels(*image.size, f"image {path}")
            frames = getattr(image, "n_frames", 1)
            if frames > 1:
                notes.append(f"animated image ({frames} frames): only the first frame is coded")
            image.seek(0)
            image.load()
            if image.getexif().get(_ORIENTATION, 1) != 1:
                notes.append("EXIF orientation applied")
            upright = ImageOps.exif_transpose(image)
    except FileNotFoundError:
        raise SclcError(f"cannot read image {path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise SclcError(f"cannot read image {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    return upright, tuple(notes)


def read_image(path: str | Path) -> Image.Image:
    return open_image(path)[0]


def read_quality_map(path: str | Path, size: tuple[int, int]) -> torch.Tensor:
    """A grey PNG of the image's ``size`` (width, height) -> quality map in [0, 1]: 8-bit (0..255)
    or 16-bit (0..65535; Pillow opens those as 32-bit integers, which convert("L") would clip)."""
    image = read_image(path)
    if image.size != tuple(size):
        raise SclcError(f"quality map {path} is {image.size[0]}x{image.size[1]}, the image {size[0]}x{size[1]}")
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        values = np.asarray(image, dtype=np.float32)
        if values.min() < 0 or values.max() > 65535:
            raise SclcError(f"quality map {path}: 16-bit values must lie in 0 .. 65535")
        return torch.from_numpy(values / 65535)
    if image.mode not in ("L", "1", "P", "LA", "RGB", "RGBA"):
        raise SclcError(f"quality map {path}: a grey PNG of 8 or 16 bits, not mode {image.mode}")
    return torch.from_numpy(np.asarray(image.convert("L"), dtype=np.float32) / 255)


def load_rgb(path: str | Path) -> np.ndarray:
    """Any image file -> 8-bit RGB array (H, W, 3), converted as the codec converts it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(to_pil(prepare_image(read_image(path)).tensor))


def centre_window(height: int, width: int, size: int) -> tuple[int, int]:
    """(top, left) of the centred ``size`` x ``size`` window; 0 along a side shorter than ``size``."""
    return max((height - size) // 2, 0), max((width - size) // 2, 0)


def centre_crop(rgb: np.ndarray, size: int) -> np.ndarray:
    """The centred ``size`` x ``size`` crop of an (H, W, ...) array (the whole side where shorter)."""
    top, left = centre_window(*rgb.shape[:2], size)
    return rgb[top:top + size, left:left + size]


def rgb_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.array(rgb, dtype=np.float32)).permute(2, 0, 1).div_(255)[None]


def detect_mask(detector, rgb: np.ndarray) -> np.ndarray:
    """A text prior's (H, W) uint8 mask of an RGB image."""
    with torch.no_grad():
        return detector(rgb_to_tensor(rgb))[0, 0].numpy().astype(np.uint8)


def to_pil(x: torch.Tensor, mode: int = MODE_RGB) -> Image.Image:
    """(1,3,H,W) or (3,H,W) float in [0,1] -> 8-bit PIL image (rounded, clamped)."""
    x = x.detach().reshape(3, *x.shape[-2:]).clamp(0, 1).mul(255).round().to(torch.uint8).cpu()
    if mode == MODE_GRAY:
        return Image.fromarray(x.float().mean(0).round().to(torch.uint8).numpy())
    return Image.fromarray(x.permute(1, 2, 0).numpy())


def check_writable(*paths: str | Path | None) -> None:
    """Refuse, before any work, an output path that cannot become a file (None: no such output),
    so that a command with two outputs never leaves the first behind when the second fails."""
    for path in paths:
        if path is None:
            continue
        if not str(path).strip():
            raise SclcError("an output path is empty")
        path = Path(path)
        if path.is_dir():
            raise SclcError(f"cannot write {path}: it is a directory")
        if not path.parent.is_dir():
            raise SclcError(f"cannot write {path}: directory {path.parent} does not exist")


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it into place."""
    check_writable(path)
    path = Path(path)
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_image(image: Image.Image, path: str | Path) -> None:
    import io

    suffix = Path(path).suffix.lower().lstrip(".") or "png"
    fmt = {"jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF"}.get(suffix, suffix.upper())
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=fmt)
    except (KeyError, ValueError, OSError) as exc:
        raise SclcError(f"cannot write {path} as {fmt}: {exc}") from None
    atomic_write(path, buffer.getvalue())
