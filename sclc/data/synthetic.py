"""Deterministic synthetic screen content with exact text masks.

``render(seed, width, height)`` draws a desktop-like scene — flat or gradient background, windows
with title bars, paragraphs in several DejaVu fonts, sizes and colours, code blocks, tables,
buttons, bar charts and noisy "photo" patches — and returns the image, its word boxes and the
binary text mask (the visible parts of the word boxes). The same seed always gives the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")
FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf",
         "DejaVuSansCondensed.ttf")
WORDS = ("the image codec screen content text window model latent entropy prior structure layout "
         "compress decode bitstream pixel slide chart table button settings file edit view help "
         "python torch tensor return import class def value result error warning update open save").split()
CODE = ("def f(x):", "    return x * 2", "for i in range(10):", "    y += model(x)", "import torch",
        "class Codec:", "if __name__ == '__main__':", "x = torch.rand(1, 3, 64, 64)")


@dataclass
class Sample:
    image: Image.Image  # RGB
    boxes: list[tuple[int, int, int, int]]  # fully visible word boxes x0, y0, x1, y1 (end-exclusive)
    mask: np.ndarray  # (H, W) uint8 in {0, 1}


@lru_cache(maxsize=64)
def font(index: int, size: int) -> ImageFont.FreeTypeFont:
    name = FONTS[index % len(FONTS)]
    for directory in FONT_DIRS:
        path = Path(directory) / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)  # Pillow's built-in scalable font


class _Canvas:
    def __init__(self, rng: np.random.Generator, width: int, height: int):
        self.rng, self.width, self.height = rng, width, height
        self.image = Image.new("RGB", (width, height))
        self.draw = ImageDraw.Draw(self.image)
        self.boxes: list[tuple[int, int, int, int]] = []
        self.mask = np.zeros((height, width), dtype=np.uint8)

    def occlude(self, x0, y0, x1, y1):
        """Something opaque now covers this area: its text is gone from the mask and boxes."""
        self.mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 0
        self.boxes = [b for b in self.boxes if b[2] <= x0 or b[0] >= x1 or b[3] <= y0 or b[1] >= y1]

    def colour(self, light: bool | None = None) -> tuple[int, int, int]:
        if light is None:
            return tuple(int(c) for c in self.rng.integers(0, 256, 3))
        low, high = (170, 256) if light else (0, 90)
        return tuple(int(c) for c in self.rng.integers(low, high, 3))

    def rect(self, x0, y0, w, h):
        return [x0, y0, x0 + w, y0 + h]

    def text_line(self, x, y, words, fnt, fill, right) -> int:
        """Draw words left to right until ``right``; record each word box; return line height."""
        space = max(2, fnt.size // 3)
        for word in words:
            x0, y0, x1, y1 = self.draw.textbbox((x, y), word, font=fnt)
            if x1 > right or y1 > self.height:
                break
            self.draw.text((x, y), word, font=fnt, fill=fill)
            box = (max(x0, 0), max(y0, 0), min(x1, self.width), min(y1, self.height))
            self.boxes.append(box)
            self.mask[box[1]:box[3], box[0]:box[2]] = 1
            x = x1 + space
        return int(fnt.size * 1.35)

    def paragraph(self, x0, y0, x1, y1, mono=False, lines=None):
        fnt = font(2 if mono else int(self.rng.integers(0, len(FONTS))), int(self.rng.integers(9, 26)))
        ink = self.colour(light=False) if self.background_light(x0, y0) else self.colour(light=True)
        y = y0
        for i in range(lines or 100):
            if y + fnt.size > y1:
                break
            if mono:
                words = CODE[int(self.rng.integers(0, len(CODE)))].split(" ")
                indent = words.count("") * fnt.size // 2
                words = [w for w in words if w]
            else:
                words = [WORDS[int(k)] for k in self.rng.integers(0, len(WORDS), 12)]
                indent = 0
            y += self.text_line(x0 + indent, y, words, fnt, ink, x1)

    def background_light(self, x, y) -> bool:
        r, g, b = self.image.getpixel((min(max(x, 0), self.width - 1), min(max(y, 0), self.height - 1)))
        return 0.299 * r + 0.587 * g + 0.114 * b > 128


def _background(c: _Canvas):
    if c.rng.random() < 0.6:
        c.draw.rectangle([0, 0, c.width, c.height], fill=c.colour(light=bool(c.rng.random() < 0.7)))
    else:  # vertical gradient
        top, bottom = np.array(c.colour()), np.array(c.colour())
        t = np.linspace(0, 1, c.height)[:, None, None]
        grad = (top * (1 - t) + bottom * t).astype(np.uint8).repeat(c.width, axis=1)
        c.image.paste(Image.fromarray(grad))


def _window(c: _Canvas):
    w, h = int(c.rng.integers(c.width // 4, c.width)), int(c.rng.integers(c.height // 4, c.height))
    x0, y0 = int(c.rng.integers(0, max(c.width - w, 1))), int(c.rng.integers(0, max(c.height - h, 1)))
    c.occlude(x0, y0, x0 + w + 1, y0 + h + 1)
    c.draw.rectangle(c.rect(x0, y0, w, h), fill=c.colour(light=bool(c.rng.random() < 0.75)), outline=c.colour())
    bar = int(c.rng.integers(14, 28))
    c.draw.rectangle(c.rect(x0, y0, w, bar), fill=c.colour())
    c.paragraph(x0 + 6, y0 + 2, x0 + w - 40, y0 + bar, lines=1)
    for k in range(3):  # window buttons
        cx = x0 + w - 12 - 14 * k
        c.draw.ellipse([cx - 4, y0 + bar // 2 - 4, cx + 4, y0 + bar // 2 + 4], fill=c.colour())
    return x0, y0 + bar, w, h - bar


def _table(c: _Canvas, x0, y0, w, h):
    rows, cols = int(c.rng.integers(2, 8)), int(c.rng.integers(2, 6))
    rh, cw = max(h // rows, 12), max(w // cols, 20)
    line = c.colour(light=False)
    for r in range(rows):
        for k in range(cols):
            box = c.rect(x0 + k * cw, y0 + r * rh, cw, rh)
            c.draw.rectangle(box, outline=line, fill=c.colour(light=True) if r == 0 else None)
            c.paragraph(box[0] + 3, box[1] + 2, box[2] - 2, box[3], lines=1)


def _button(c: _Canvas, x0, y0):
    fnt = font(0, int(c.rng.integers(10, 18)))
    label = WORDS[int(c.rng.integers(0, len(WORDS)))].capitalize()
    bx0, by0, bx1, by1 = c.draw.textbbox((x0 + 10, y0 + 6), label, font=fnt)
    c.draw.rounded_rectangle([x0, y0, bx1 + 10, by1 + 6], radius=5, fill=c.colour(), outline=c.colour())
    ink = (0, 0, 0) if c.background_light(x0 + 2, y0 + 2) else (255, 255, 255)
    c.text_line(x0 + 10, y0 + 6, [label], fnt, ink, c.width)


def _chart(c: _Canvas, x0, y0, w, h):
    bars = int(c.rng.integers(3, 12))
    bw = max(w // (bars * 2), 2)
    c.draw.line([x0, y0 + h, x0 + w, y0 + h], fill=c.colour(light=False), width=2)
    for k in range(bars):
        bh = int(c.rng.integers(h // 8, h))
        c.draw.rectangle(c.rect(x0 + k * 2 * bw + bw // 2, y0 + h - bh, bw, bh), fill=c.colour())


def _photo(c: _Canvas, x0, y0, w, h):
    """A smooth, textured patch standing in for a pasted natural image."""
    low = c.rng.integers(0, 256, (max(h // 16, 2), max(w // 16, 2), 3)).astype(np.uint8)
    patch = Image.fromarray(low).resize((w, h), Image.BICUBIC)
    noise = c.rng.normal(0, 12, (h, w, 3))
    patch = np.clip(np.asarray(patch, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    c.image.paste(Image.fromarray(patch).filter(ImageFilter.GaussianBlur(0.7)), (x0, y0))


def render(seed: int, width: int = 256, height: int = 256) -> Sample:
    rng = np.random.default_rng(seed)
    c = _Canvas(rng, width, height)
    _background(c)
    for _ in range(int(rng.integers(1, 4))):
        x0, y0, w, h = _window(c)
        if w < 24 or h < 24:
            continue
        kind = rng.choice(["paragraph", "code", "table", "chart", "photo", "buttons"])
        if kind == "paragraph":
            c.paragraph(x0 + 6, y0 + 4, x0 + w - 6, y0 + h - 4)
        elif kind == "code":
            c.draw.rectangle(c.rect(x0 + 2, y0 + 2, w - 4, h - 4), fill=c.colour(light=bool(rng.random() < 0.5)))
            c.paragraph(x0 + 8, y0 + 6, x0 + w - 6, y0 + h - 4, mono=True)
        elif kind == "table":
            _table(c, x0 + 4, y0 + 4, w - 8, h - 8)
        elif kind == "chart":
            _chart(c, x0 + 8, y0 + 8, w - 16, h - 16)
        elif kind == "photo":
            _photo(c, x0 + 2, y0 + 2, w - 4, h - 4)
        else:
            for k in range(int(rng.integers(1, 4))):
                _button(c, x0 + 8 + k * (w // 3), y0 + 8)
    return Sample(c.image, c.boxes, c.mask)
