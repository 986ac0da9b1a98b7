"""NLDM lookup tables with bilinear interpolation and linear extrapolation."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

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
        """Value at an input slew (s) and output load (F); axes the table lacks are ignored.

        Plain Python on the tuples: it runs for every pin of every instance, where
        numpy's per-call overhead would dominate.
        """
        return self._at({"slew": slew, "load": load, "related": slew, "constrained": slew})

    def constraint(self, related_slew: float, constrained_slew: float) -> float:
        """A timing check's limit (s) at the related (clock) pin's and the constrained (data) pin's slews (s)."""
        return self._at({"related": related_slew, "constrained": constrained_slew, "slew": related_slew, "load": 0.0})

    def _at(self, coordinates: dict[str, float]) -> float:
        axes = [_axis_kind(v) for v in self.variables]
        if not axes:
            return float(self.values[0][0])
        x = coordinates[axes[0]]
        if len(axes) == 1:
            return _interp1(self.index_1, [v for row in self.values for v in row], x)
        y = coordinates[axes[1]]
        if len(self.index_1) == 1:
            return _interp1(self.index_2, self.values[0], y)
        i = _segment(self.index_1, x)
        rows = [_interp1(self.index_2, self.values[i], y), _interp1(self.index_2, self.values[i + 1], y)]
        return _interp1(self.index_1[i : i + 2], rows, x)


def _axis_kind(variable: str) -> str:
    if "capacitance" in variable:
        return "load"
    if variable.startswith("related_pin"):
        return "related"
    if variable.startswith("constrained_pin"):
        return "constrained"
    return "slew"


def _segment(axis: tuple[float, ...], x: float) -> int:
    """Index of the axis segment that holds x, the first or last one outside the axis."""
    return min(max(bisect_left(axis, x) - 1, 0), len(axis) - 2)


def _interp1(axis, values, x: float) -> float:
    """Piecewise-linear interpolation that extends the end segments linearly."""
    if len(axis) == 1:
        return float(values[0])
    i = _segment(axis, x)
    x0, x1 = axis[i], axis[i + 1]
    t = (x - x0) / (x1 - x0)
    return float(values[i] + t * (values[i + 1] - values[i]))
