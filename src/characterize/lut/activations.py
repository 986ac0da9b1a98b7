"""Activation sequences for characterization: uniform random, or drawn from a user's histogram.

A histogram file is a CSV with the columns `value,count` (counts or
probabilities), as `studies` exports from a trained quantized network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from characterize.csvfile import read_csv
from characterize.errors import SimulationError


def read_histogram(path: str | Path, low: int, high: int) -> tuple[tuple[int, float], ...]:
    """(value, probability) pairs from a `value,count` CSV; values must lie in [low, high]."""
    path = Path(path)
    frame = read_csv(path, SimulationError, "activation histogram")
    if list(frame.columns[:2]) != ["value", "count"]:
        raise SimulationError(f"{path}: expected the header 'value,count', got {','.join(map(str, frame.columns))}")
    values = pd.to_numeric(frame["value"], errors="coerce")
    counts = pd.to_numeric(frame["count"], errors="coerce")
    for row, (text, value, count_text, count) in enumerate(
            zip(frame["value"], values, frame["count"], counts), start=2):
        if not (pd.notna(value) and float(value).is_integer() and low <= value <= high):
            raise SimulationError(f"{path}:{row}: activation value {text} is not an integer in [{low}, {high}]")
        if not count >= 0:
            raise SimulationError(f"{path}:{row}: count {count_text} is negative or not a number")
    if frame.empty:
        raise SimulationError(f"{path}: no rows after the header")
    frame = pd.DataFrame({"value": values, "count": counts})
    total = float(frame["count"].sum())
    if total <= 0:
        raise SimulationError(f"{path}: all counts are zero")
    return tuple((int(v), float(c) / total) for v, c in zip(frame["value"], frame["count"]) if c > 0)


def activation_sequence(
    count: int, low: int, high: int, seed: int, histogram: tuple[tuple[int, float], ...] | None = None
) -> np.ndarray:
    """`count` activations in [low, high]: uniform, or distributed as the histogram; seeded."""
    rng = np.random.default_rng(seed)
    if histogram is None:
        return rng.integers(low, high + 1, count, dtype=np.int64)
    values = np.array([v for v, _p in histogram], dtype=np.int64)
    probabilities = np.array([p for _v, p in histogram])
    return rng.choice(values, size=count, p=probabilities / probabilities.sum())
