"""NLDM lookup tables with bilinear interpolation and linear extrapolation."""

from __future__ import annotations

from bisect import bisect_left
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
        axes = self._axes
        values = self.values
        if not axes:
            return self._flat[0]
        if len(axes) == 1:
            flat = self._flat
            i, s = _segment(self.index_1, load if axes[0] == "load" else slew)
            return float(flat[0]) if i < 0 else float(flat[i] + s * (flat[i + 1] - flat[i]))
        i, s = _segment(self.index_1, load if axes[0] == "load" else slew)
        j, t = _segment(self.index_2, load if axes[1] == "load" else slew)
        rows = [values[0]] if i < 0 else [values[i], values[i + 1]]
        at = [row[0] if j < 0 else row[j] + t * (row[j + 1] - row[j]) for row in rows]
        return float(at[0]) if i < 0 else float(at[0] + s * (at[1] - at[0]))

    @cached_property
    def _axes(self) -> tuple[str, ...]:
        return tuple("load" if "capacitance" in v else "slew" for v in self.variables)

    @cached_property
    def _flat(self) -> tuple[float, ...]:
        return tuple(float(v) for v in np.asarray(self.values, dtype=float).reshape(-1))


def _segment(axis: tuple[float, ...], x: float) -> tuple[int, float]:
    """The axis segment holding x (the end ones extended) and x's position in it; (-1, 0) for a single point.

    Linear interpolation inside the table, linear extrapolation beyond it.
    """
    if len(axis) == 1:
        return -1, 0.0
    i = min(max(bisect_left(axis, x) - 1, 0), len(axis) - 2)
    return i, (x - axis[i]) / (axis[i + 1] - axis[i])
