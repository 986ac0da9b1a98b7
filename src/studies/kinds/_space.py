"""Validation of [space] entries: fixed values or [low, high] ranges, and choices, with messages naming the key."""

from __future__ import annotations

from typing import Any

from dse.errors import ConfigError


def check_keys(settings: dict, where: str, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(allowed)})")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def int_range(settings: dict, key: str, where: str, default: list[int] | None, minimum: int) -> list[int] | None:
    """An integer or [low, high] (inclusive) as [low, high]; both at least `minimum`."""
    value = settings.get(key, default)
    if value is None:
        return None
    pair = [value, value] if _is_int(value) else value
    if not (isinstance(pair, list) and len(pair) == 2 and all(_is_int(v) for v in pair)):
        raise ConfigError(f"{where}.{key}: expected an integer or [low, high], got {value!r}")
    if pair[0] < minimum or pair[0] > pair[1]:
        raise ConfigError(f"{where}.{key}: expected {minimum} <= low <= high, got {value!r}")
    return list(pair)


def float_range(settings: dict, key: str, where: str, default: list[float], low: float, high: float) -> list[float]:
    """A number or [low, high] as [low, high], inside [`low`, `high`]."""
    value = settings.get(key, default)
    pair = [value, value] if _is_number(value) else value
    if not (isinstance(pair, list) and len(pair) == 2 and all(_is_number(v) for v in pair)):
        raise ConfigError(f"{where}.{key}: expected a number or [low, high], got {value!r}")
    if not low <= pair[0] <= pair[1] <= high:
        raise ConfigError(f"{where}.{key}: expected {low} <= low <= high <= {high}, got {value!r}")
    return [float(v) for v in pair]


def number(settings: dict, key: str, where: str, default: float, minimum: float) -> float:
    value = settings.get(key, default)
    if not _is_number(value) or value < minimum:
        raise ConfigError(f"{where}.{key}: expected a number >= {minimum}, got {value!r}")
    return float(value)


def integer(settings: dict, key: str, where: str, default: int, minimum: int) -> int:
    value = settings.get(key, default)
    if not _is_int(value) or value < minimum:
        raise ConfigError(f"{where}.{key}: expected an integer >= {minimum}, got {value!r}")
    return value


def choices(settings: dict, key: str, where: str, allowed: tuple[str, ...], default: str) -> list[str]:
    """One name or a list of names (searched as a categorical parameter), each one of `allowed`."""
    value = settings.get(key, default)
    names = [value] if isinstance(value, str) else value
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise ConfigError(f"{where}.{key}: expected one of {', '.join(allowed)} or a list of them, got {value!r}")
    bad = [n for n in names if n not in allowed]
    if bad:
        raise ConfigError(f"{where}.{key}: {bad[0]!r} is not one of {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def n_values_range(value: list[int] | None, available: int) -> list[int]:
    """`space.n_values` as [low, high], all values by default; ConfigError when it asks for more than the LUT has."""
    pair = value or [1, available]
    if pair[1] > available:
        raise ConfigError(f"space.n_values: upper bound {pair[1]} exceeds the {available} weight values of the LUT")
    return pair
