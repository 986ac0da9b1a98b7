"""Declarative checks of study-file tables: per key a type, range or choices and a default, in one place.

A `Section` maps each allowed key of a table to a `Field`: a check (a callable
that returns the normalized value or raises `Invalid`), a default, whether
the key only applies when another key has certain values, and how a relative
path is anchored at the study file's folder. `Section.validate` rejects
unknown keys (suggesting the close matches, "did you mean 'source'?"), fills
defaults, runs the section's rules across keys and raises one error naming the
place: `study.toml: data.val_fraction: expected a number between 0 and 1, got 2`.
The checks below (`integer`, `number`, `one_of`, `list_of`, ranges ...) are
the building blocks of every section of a study file.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cells.errors import GatedseError
from dse.errors import ConfigError

__all__ = ["REQUIRED", "Field", "Invalid", "Section", "When", "anchor_path", "boolean", "choices", "close_match", "either",
           "file_path", "float_range", "int_range", "integer", "list_of", "number", "one_of", "reject_unknown", "show",
           "table", "text"]

REQUIRED = object()
"""Default of a key that must be given."""

Check = Callable[[Any], Any]
Rule = Callable[[dict], None]


class Invalid(Exception):
    """A value breaks a rule: `reason` says why, `path` where below the key it sits ("[2]", ".x") or, from a
    section rule, which key."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


@dataclass(frozen=True)
class When:
    """A key applies only when an earlier key `key` has one of `values`; `noun` names that key in messages."""

    key: str
    values: tuple[str, ...]
    noun: str | None = None


@dataclass(frozen=True)
class Field:
    """One key of a section: its check, its default (REQUIRED, or a value that is not checked; None leaves the
    key None), the condition under which it applies, and `anchor(value, folder)` for values relative to the
    study file."""

    check: Check
    default: Any = None
    when: When | None = None
    anchor: Callable[[Any, Path], Any] | None = None


@dataclass(frozen=True)
class Section:
    """The keys of one table, the rules across them (run after every key is checked; they may fill defaults
    that depend on other keys) and the error class raised."""

    fields: Mapping[str, Field]
    rules: tuple[Rule, ...] = ()
    error: type[GatedseError] = ConfigError

    def validate(self, table: Any, where: str, base: Path | None = None) -> dict:
        """The table normalized with defaults; raises `error("{where}.{key}: {reason}")`. `where` is e.g.
        "study.toml: data" (or "study.toml: " for the top level); `base` anchors relative paths."""
        try:
            return self.check(table, base)
        except Invalid as exc:
            place = _place(where, exc.path)
            raise self.error(f"{place}: {exc.reason}" if place else exc.reason) from None

    def check(self, table: Any, base: Path | None = None) -> dict:
        """As `validate`, raising Invalid with the key path."""
        if not isinstance(table, dict):
            raise Invalid(f"expected a table, got {show(table)}")
        reject_unknown(table, tuple(self.fields))
        values: dict[str, Any] = {}
        for key, spec in self.fields.items():
            given = table.get(key) is not None  # None: absent (TOML has no null; normalized tables hold it)
            if spec.when is not None and values.get(spec.when.key) not in spec.when.values:
                if given:
                    noun = spec.when.noun or spec.when.key
                    raise Invalid(f"only for the {_and(spec.when.values)} {noun}, not {values.get(spec.when.key)}",
                                  key)
                continue
            if not given:
                if spec.default is REQUIRED:
                    raise Invalid("missing (required)", key)
                values[key] = copy.deepcopy(spec.default)
                continue
            try:
                value = spec.check(table[key])
            except Invalid as exc:
                raise Invalid(exc.reason, key + exc.path) from None
            if spec.anchor is not None and base is not None:
                value = spec.anchor(value, base)
            values[key] = value
        for rule in self.rules:
            rule(values)
        return values


def _place(where: str, path: str) -> str:
    """`where` and a key path below it joined: "f.toml: data" + "source" -> "f.toml: data.source"."""
    if where.endswith(": "):
        return where + path if path else where[:-2]
    return f"{where}.{path}" if where and path and path[0] != "[" else where + path


def reject_unknown(table: dict, allowed: tuple[str, ...]) -> None:
    """Invalid for the first key of `table` not in `allowed`, with the close matches."""
    for key in table:
        if key not in allowed:
            close = close_match(key, allowed)
            hint = f"; did you mean {close!r}?" if close else ""
            raise Invalid(f"unknown key{hint} (expected one of: {', '.join(allowed)})", key)


def show(value: Any) -> str:
    """A value as the user wrote it, with its TOML type for tables."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, (str, list)) else str(value)


def _and(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_words(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"an integer from {minimum} to {maximum}"
    if minimum == 1:
        return "a positive integer"
    if minimum == 0:
        return "a non-negative integer"
    return "an integer" if minimum is None else f"an integer >= {minimum}"


def integer(minimum: int | None = None, maximum: int | None = None) -> Check:
    """An integer in [minimum, maximum] (either bound optional)."""

    def check(value: Any) -> int:
        if not _is_int(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise Invalid(f"expected {_int_words(minimum, maximum)}, got {show(value)}")
        return value

    return check


def number(low: float | None = None, high: float | None = None, open_bounds: bool = False) -> Check:
    """A number (as float) from `low` to `high`, bounds excluded when `open_bounds`."""
    if low is not None and high is not None:
        words = f"a number {'between' if open_bounds else 'from'} {low:g} {'and' if open_bounds else 'to'} {high:g}"
    elif low == 0:
        words = "a positive number" if open_bounds else "a non-negative number"
    else:
        words = "a number" if low is None else f"a number {'>' if open_bounds else '>='} {low:g}"

    def check(value: Any) -> float:
        inside = _is_number(value) and (low is None or value > low or (not open_bounds and value == low)) \
            and (high is None or value < high or (not open_bounds and value == high))
        if not inside:
            raise Invalid(f"expected {words}, got {show(value)}")
        return float(value)

    return check


def text(value: Any) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise Invalid(f"expected a non-empty string, got {show(value)}")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {show(value)}")
    return value


def table(value: Any) -> dict:
    """Any table, checked elsewhere."""
    if not isinstance(value, dict):
        raise Invalid(f"expected a table, got {show(value)}")
    return value


def close_match(value: Any, options: Iterable) -> str | None:
    """The name among `options` closest to a misspelled `value`, if one is close."""
    names = [option for option in options if isinstance(option, str)]
    close = difflib.get_close_matches(value, names, n=1, cutoff=0.6) if isinstance(value, str) else []
    return close[0] if close else None


def _suggest(value: Any, options: tuple) -> str:
    close = close_match(value, options)
    return f" (did you mean {close!r}?)" if close else ""


def one_of(options: tuple) -> Check:
    """One of `options` (names or numbers)."""

    def check(value: Any) -> Any:
        if isinstance(value, bool) or value not in options:
            names = ", ".join(map(str, options))
            raise Invalid(f"expected one of {names}, got {show(value)}{_suggest(value, options)}")
        return value

    return check


def choices(options: tuple[str, ...]) -> Check:
    """One name or a list of names (searched as a categorical parameter), each one of `options`; as a list."""

    def check(value: Any) -> list[str]:
        names = [value] if isinstance(value, str) else value
        if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
            raise Invalid(f"expected one of {', '.join(options)} or a list of them, got {show(value)}")
        for name in names:
            if name not in options:
                raise Invalid(f"{name!r} is not one of {', '.join(options)}{_suggest(name, options)}")
        return list(dict.fromkeys(names))

    return check


def list_of(item: Check, what: str, allow_empty: bool = False) -> Check:
    """A list whose every entry passes `item`; `what` names the entries in messages ("positive integers")."""

    def check(value: Any) -> list:
        if not isinstance(value, list) or (not value and not allow_empty):
            raise Invalid(f"expected a {'' if allow_empty else 'non-empty '}list of {what}, got {show(value)}")
        result = []
        for i, entry in enumerate(value):
            try:
                result.append(item(entry))
            except Invalid as exc:
                raise Invalid(exc.reason, f"[{i}]{exc.path}") from None
        return result

    return check


def either(first: Check, second: Check, what: str) -> Check:
    """A value passing `first`, else `second`; `what` says what is expected when neither fits its type."""

    def check(value: Any) -> Any:
        try:
            return first(value)
        except Invalid:
            pass
        if isinstance(value, list):
            return second(value)
        raise Invalid(f"expected {what}, got {show(value)}")

    return check


def int_range(minimum: int) -> Check:
    """An integer or [low, high] (inclusive), as [low, high], with minimum <= low <= high."""

    def check(value: Any) -> list[int]:
        pair = [value, value] if _is_int(value) else value
        if not (isinstance(pair, list) and len(pair) == 2 and all(_is_int(v) for v in pair)):
            raise Invalid(f"expected an integer or [low, high], got {show(value)}")
        if pair[0] < minimum or pair[0] > pair[1]:
            raise Invalid(f"expected {minimum} <= low <= high, got {show(value)}")
        return list(pair)

    return check


def float_range(low: float, high: float) -> Check:
    """A number or [low, high], as [low, high] of floats, with `low` <= low <= high <= `high`."""

    def check(value: Any) -> list[float]:
        pair = [value, value] if _is_number(value) else value
        if not (isinstance(pair, list) and len(pair) == 2 and all(_is_number(v) for v in pair)):
            raise Invalid(f"expected a number or [low, high], got {show(value)}")
        if not low <= pair[0] <= pair[1] <= high:
            raise Invalid(f"expected {low} <= low <= high <= {high}, got {show(value)}")
        return [float(v) for v in pair]

    return check


def file_path(*keywords: str) -> Check:
    """A path (relative ones are anchored at the study file by `anchor_path`), or one of the `keywords` as is."""

    def check(value: Any) -> str | Path:
        if isinstance(value, Path) or (isinstance(value, str) and value and value not in keywords):
            return Path(value)
        if value in keywords:
            return value
        words = " or ".join([*(repr(k) for k in keywords), "a path"])
        raise Invalid(f"expected {words}, got {show(value)}")

    return check


def anchor_path(value: Any, base: Path) -> Any:
    """A relative Path taken relative to `base` (the study file's folder); keywords and absolute paths as given."""
    return base / value if isinstance(value, Path) else value

