"""The command groups of ``sclc``: one module per group, each adding its own subcommands.

A group module defines ``add_commands(sub)``, adding parsers whose ``func`` is a thin handler:
parse, call the library, print. Adding a group is one module and one line in ``GROUPS``.
Handlers import the library inside themselves, so that ``sclc --help`` starts without torch.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

# In the order ``sclc --help`` lists their commands.
GROUPS = ("components", "models", "codec", "train", "evaluate", "report", "detect")


def add_all(sub) -> None:
    for group in GROUPS:
        importlib.import_module(f"{__name__}.{group}").add_commands(sub)


def add_set(parser: argparse.ArgumentParser, help: str = "override a spec field, e.g. --set backbone.N=64 "
            "(repeatable)") -> None:
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=help)


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def number_type(kind, test, what: str):
    """An argparse type: ``kind`` parsed, finite, and passing ``test``, or a one-line usage error."""
    import math

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not test(value):
            raise argparse.ArgumentTypeError(f"{text} must be {what}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


positive_int = number_type(int, lambda v: v > 0, "a whole number > 0")
non_negative_int = number_type(int, lambda v: v >= 0, "a whole number >= 0")
positive_float = number_type(float, lambda v: v > 0, "a number > 0")
non_negative_float = number_type(float, lambda v: v >= 0, "a number >= 0")
fraction = number_type(float, lambda v: 0 <= v <= 1, "a number in [0, 1]")


def add_box_dirs(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--box-dir", action="append", default=[], type=Path, help=help)


def box_dirs(args) -> tuple[Path, ...]:
    """The ``--box-dir`` folders; a missing one is a user's error, not a silently empty mask."""
    from sclc.errors import SclcError

    for folder in args.box_dir:
        if not folder.is_dir():
            raise SclcError(f"--box-dir {folder}: no such folder")
    return tuple(args.box_dir)


def cell(value, spec: str) -> str:
    """A table cell: the formatted value, or "-" where nothing was measured."""
    return "-" if value is None else format(value, spec)
