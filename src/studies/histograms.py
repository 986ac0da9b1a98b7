"""Weight and activation histograms of a quantized network as `value,count` tables and CSV files.

The activation CSV is what `dse characterize --activations HIST.csv` reads to
draw multiplier input transitions with the network's own activation statistics.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from cells.files import atomic_path
from dse.costmodel import LayerStats
from studies.quant import layer_stats


def weight_histogram(stats: list[LayerStats]) -> pd.DataFrame:
    """How many weights of the network hold each integer value."""
    values, counts = np.unique(np.concatenate([s.weights.ravel() for s in stats]), return_counts=True)
    return pd.DataFrame({"value": values.astype(np.int64), "count": counts.astype(np.int64)})


def activation_histogram(stats: list[LayerStats]) -> pd.DataFrame:
    """How often each integer value occurs among the inputs of all quantized layers, summed over layers."""
    totals: dict[int, int] = {}
    for s in stats:
        if s.activations is None:
            continue
        for offset in np.flatnonzero(s.activations):
            value = int(offset) + s.activation_min
            totals[value] = totals.get(value, 0) + int(s.activations[offset])
    values = sorted(totals)
    return pd.DataFrame({"value": np.array(values, dtype=np.int64),
                         "count": np.array([totals[v] for v in values], dtype=np.int64)})


def write_histogram_csv(histogram: pd.DataFrame, path: str | Path) -> Path:
    """Write the non-zero rows of a `value,count` table, sorted by value."""
    rows = histogram[histogram["count"] > 0].sort_values("value")
    with atomic_path(path) as partial:
        rows[["value", "count"]].to_csv(partial, index=False)
    return Path(path)


def export_histograms(model: nn.Module, loader: Iterable, folder: str | Path, device: str = "cpu") -> tuple[Path, Path]:
    """Write `weights.csv` and `activations.csv` of a trained quantized network into `folder`."""
    stats = layer_stats(model, loader, device)
    folder = Path(folder)
    return (write_histogram_csv(weight_histogram(stats), folder / "weights.csv"),
            write_histogram_csv(activation_histogram(stats), folder / "activations.csv"))
