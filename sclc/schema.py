"""Validate plain TOML data into typed dataclasses, with messages that name key, value and choices."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Union

from sclc.errors import SpecError


def at_least(params: Any, bound: float, *keys: str) -> None:
    """For a params dataclass's ``__post_init__``: each of ``keys`` must be >= ``bound``."""
    for key in keys:
        if getattr(params, key) < bound:
            raise ValueError(f"{key} = {getattr(params, key)} must be >= {bound}")


def above(params: Any, bound: float, *keys: str) -> None:
    """Each of ``keys`` must be > ``bound``."""
    for key in keys:
        if getattr(params, key) <= bound:
            raise ValueError(f"{key} = {getattr(params, key)} must be > {bound}")


def within(params: Any, low: float, high: float, *keys: str) -> None:
    """Each of ``keys`` must lie in [low, high]."""
    for key in keys:
        if not low <= getattr(params, key) <= high:
            raise ValueError(f"{key} = {getattr(params, key)} must lie in [{low:g}, {high:g}]")


class Locator:
    """Find the line of ``key`` inside table ``[a.b]`` in the TOML text, for error messages."""

    def __init__(self, text: str = "", source: str = "<spec>"):
        self.source = source
        self._lines = text.splitlines()

    def where(self, table: tuple[str, ...], key: str | None = None) -> str:
        line = self._find(table, key)
        return f"{self.source}:{line}" if line else self.source

    def _find(self, table: tuple[str, ...], key: str | None) -> int | None:
        current: tuple[str, ...] = ()
        header_line = None
        for number, raw in enumerate(self._lines, start=1):
            line = raw.split("#", 1)[0].strip()
            if line.startswith("[") and line.endswith("]"):
                current = tuple(p.strip().strip('"') for p in line.strip("[]").split("."))
                if current == table:
                    header_line = number
                continue
            if current == table and key is not None and "=" in line:
                if line.split("=", 1)[0].strip().strip('"') == key:
                    return number
        return header_line


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "none")


def coerce(value: Any, tp: Any, what: str) -> Any:
    """Check ``value`` against annotation ``tp``; return it in canonical form (lists -> tuples)."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise SpecError(f"{what} = {value!r} is not valid — choose {_type_name(tp)}")
    if origin in (Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return coerce(value, option, what)
            except SpecError:
                continue
        raise SpecError(f"{what} = {_describe(value)} must be {_type_name(tp)}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise SpecError(f"{what} = {_describe(value)} must be {_type_name(tp)}")
        item = typing.get_args(tp)[0]
        return tuple(coerce(v, item, f"{what}[{i}]") for i, v in enumerate(value))
    if tp is type(None):
        if value is None:
            return None
        raise SpecError(f"{what} = {_describe(value)} must be none")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, bool):
        raise SpecError(f"{what} = {_describe(value)} must be int")
    if tp is Any or isinstance(value, tp):
        return value
    raise SpecError(f"{what} = {_describe(value)} must be {_type_name(tp)}")


def from_table(cls: type, table: dict, *, path: tuple[str, ...], locator: Locator,
               label: str | None = None) -> Any:
    """Build dataclass ``cls`` from a TOML table; reject unknown keys and wrong types."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    table_name = ".".join(path) or "top level"
    if not isinstance(table, dict):
        raise SpecError(f"{locator.where(path)}: [{table_name}] must be a table, got {table!r}")
    for key in table:
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            owner = f" of {label}" if label else ""
            raise SpecError(
                f"{locator.where(path, key)}: unknown key '{key}' in [{table_name}]{owner}{hint}"
                f" — valid keys: {', '.join(fields) or '(none)'}")
    values = {}
    for name, f in fields.items():
        if name in table:
            try:
                values[name] = coerce(table[name], hints[name], f"[{table_name}] {name}")
            except SpecError as exc:
                raise SpecError(f"{locator.where(path, name)}: {exc}") from None
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise SpecError(f"{locator.where(path)}: [{table_name}] is missing required key '{name}'")
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:  # __post_init__ checks of ranges and combinations
        raise SpecError(f"{locator.where(path)}: [{table_name}] {exc}") from None


def to_table(obj: Any) -> dict:
    """Inverse of :func:`from_table` for saving specs: dataclass -> TOML-ready dict."""
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            value = to_table(value)
        elif isinstance(value, tuple):
            value = list(value)
        if value is not None:
            out[f.name] = value
    return out
