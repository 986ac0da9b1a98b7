"""NLDM lookup tables with bilinear interpolation and linear extrapolation."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

SLEW = "input_net_transition"
LOAD = "total_output_net_capacitance"


@dataclass(frozen=True)
class Table:
    """A one- or two-dimensional Liberty table, axes and values in SI units.

    `variables` names the axes as Liberty does (`input_net_transition`,
    `total_output_net_capacitance`, `input_transition_time`, ...); a scalar
    value is a table with no axes. `template` keeps the Liberty template name
    so the writer can reproduce the group.
    """

    template: str
    variables: tuple[str, ...]
    index_1: tuple[float, ...]
    index_2: tuple[float, ...]
    values: tuple[tuple[float, ...], ...]

    def lookup(self, slew: float, load: float) -> float:
        """Value at an input slew (s) and output load (F); axes the table lacks are ignored."""
        axes, index_1, index_2, values = self._arrays
        coordinates = {"slew": slew, "load": load}
        if not axes:
            return float(values.reshape(-1)[0])
        if len(axes) == 1:
            return _interp1(index_1, values.reshape(-1), coordinates[axes[0]])
        i, s = _segment(index_1, coordinates[axes[0]])
        j, t = _segment(index_2, coordinates[axes[1]])
        if j < 0:
            row = values[:, 0]
        else:
            row = values[:, j] + t * (values[:, j + 1] - values[:, j])
        return float(row[0]) if i < 0 else float(row[i] + s * (row[i + 1] - row[i]))

    @cached_property
    def _arrays(self) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
        axes = tuple(_axis_kind(v) for v in self.variables)
        values = np.asarray(self.values, dtype=float)
        return axes, np.asarray(self.index_1, dtype=float), np.asarray(self.index_2, dtype=float), values


def _axis_kind(variable: str) -> str:
    if "capacitance" in variable:
        return "load"
    return "slew"


def _interp1(axis: tuple[float, ...], values: np.ndarray, x: float) -> float:
    """Piecewise-linear interpolation that extends the end segments linearly."""
    if len(axis) == 1:
        return float(values[0])
    i = int(np.clip(np.searchsorted(axis, x) - 1, 0, len(axis) - 2))
    x0, x1 = axis[i], axis[i + 1]
    t = (x - x0) / (x1 - x0)
    return float(values[i] + t * (values[i + 1] - values[i]))


def _segment(axis: np.ndarray, x: float) -> tuple[int, float]:
    """The axis segment holding x (the end ones extended) and x's position in it; (-1, 0) for a single point."""
    if len(axis) == 1:
        return -1, 0.0
    i = int(np.clip(np.searchsorted(axis, x) - 1, 0, len(axis) - 2))
    return i, float((x - axis[i]) / (axis[i + 1] - axis[i]))
