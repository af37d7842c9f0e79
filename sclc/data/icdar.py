"""ICDAR 2013's split: the images detectors never train on, so that ``sclc detect-eval`` on them is fair."""

from __future__ import annotations

from pathlib import Path

from sclc.data.folder import list_images

HELD_OUT = 80  # the 80 images with the highest numbers


def is_icdar(root: Path) -> bool:
    """ICDAR's layout: ``images/`` beside ``gt/gt_<stem>.txt``."""
    return (root / "images").is_dir() and (root / "gt").is_dir()


def _number(path: Path) -> tuple:
    digits = "".join(c for c in path.stem if c.isdigit())
    return (int(digits) if digits else -1, path.stem)


def split_images(paths: list[Path], split: str) -> list[Path]:
    """``heldout``: the HELD_OUT highest-numbered images; ``train``: the rest; ``all``."""
    ordered = sorted(paths, key=_number)
    if split == "heldout":
        return ordered[-HELD_OUT:]
    if split == "train":
        return ordered[:-HELD_OUT]
    return ordered


def held_out_names(entries: list[str]) -> set[str]:
    """File names of the held-out images among ``DIR`` or ``DIR:BOXDIR`` training entries."""
    names = set()
    for entry in entries:
        root = Path(entry.partition(":")[0])
        if is_icdar(root):
            names |= {p.name for p in split_images(list_images(root / "images"), "heldout")}
    return names
