"""Weight and activation histograms of a quantized network as `value,count` tables and CSV files, per layer and
for the whole network, and each layer's characterization sequence.

The activation CSVs are what `dse characterize --activations HIST.csv` reads
to draw multiplier input transitions with the network's (or one layer's)
activation statistics; a sequence file holds, in order, the activations that
characterize a layer under `[lut] activations = "per-layer"`.
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


def layer_histograms(layer: LayerStats) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One layer's weight and activation histograms."""
    return weight_histogram([layer]), activation_histogram([layer])


def write_sequence_csv(sequence: np.ndarray, path: str | Path) -> Path:
    """Write an activation sequence as one column `activation`, in order."""
    with atomic_path(path) as partial:
        pd.DataFrame({"activation": np.asarray(sequence, dtype=np.int64)}).to_csv(partial, index=False)
    return Path(path)


def export_network(stats: list[LayerStats], sequences: dict[str, np.ndarray], folder: str | Path) -> list[Path]:
    """Write the network's `weights.csv` and `activations.csv`, and per layer `layer_<name>_weights.csv`,
    `layer_<name>_activations.csv` and (where given) `layer_<name>_sequence.csv` into `folder`."""
    folder = Path(folder)
    written = [write_histogram_csv(weight_histogram(stats), folder / "weights.csv"),
               write_histogram_csv(activation_histogram(stats), folder / "activations.csv")]
    for layer in stats:
        weights, activations = layer_histograms(layer)
        written.append(write_histogram_csv(weights, folder / f"layer_{layer.name}_weights.csv"))
        written.append(write_histogram_csv(activations, folder / f"layer_{layer.name}_activations.csv"))
        if layer.name in sequences:
            written.append(write_sequence_csv(sequences[layer.name], folder / f"layer_{layer.name}_sequence.csv"))
    return written


def export_histograms(model: nn.Module, loader: Iterable, folder: str | Path, device: str = "cpu") -> tuple[Path, Path]:
    """Write `weights.csv` and `activations.csv` of a trained quantized network into `folder`."""
    stats = layer_stats(model, loader, device)
    folder = Path(folder)
    return (write_histogram_csv(weight_histogram(stats), folder / "weights.csv"),
            write_histogram_csv(activation_histogram(stats), folder / "activations.csv"))
