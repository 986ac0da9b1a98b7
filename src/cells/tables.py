"""NLDM lookup tables with bilinear interpolation and linear extrapolation."""

from __future__ import annotations

from dataclasses import dataclass

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
        coordinates = {"slew": slew, "load": load}
        axes = [_axis_kind(v) for v in self.variables]
        values = np.asarray(self.values, dtype=float)
        if not axes:
            return float(values.reshape(-1)[0])
        x = coordinates[axes[0]]
        if len(axes) == 1:
            return _interp1(self.index_1, values.reshape(-1), x)
        y = coordinates[axes[1]]
        row = [_interp1(self.index_2, values[i], y) for i in range(len(self.index_1))]
        return _interp1(self.index_1, np.asarray(row), x)


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
