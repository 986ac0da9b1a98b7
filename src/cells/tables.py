"""NLDM lookup tables with bilinear interpolation and linear extrapolation."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property

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
        if self._on_load is None:
            return float(self.values[0][0])
        first, second = self._on_load
        return self._interpolate(load if first else slew, load if second else slew)

    def constraint(self, related_slew: float, constrained_slew: float) -> float:
        """A timing check's limit (s) at the related (clock) pin's and the constrained (data) pin's slews (s)."""
        coordinates = {"related": related_slew, "constrained": constrained_slew, "slew": related_slew, "load": 0.0}
        position = [coordinates[_axis_kind(v)] for v in self.variables]  # the point on each axis
        if not position:
            return float(self.values[0][0])
        return self._interpolate(position[0], position[-1])

    @cached_property
    def _on_load(self) -> tuple[bool, bool] | None:
        """Whether the first and the second axis are the output load (else a slew), None for a scalar: `lookup`
        runs too often to read the axis names each time."""
        on_load = [_axis_kind(v) == "load" for v in self.variables]
        return (on_load[0], len(on_load) > 1 and on_load[1]) if on_load else None

    def _interpolate(self, x: float, y: float) -> float:
        """The value at x on the first axis and y on the second (y unused by a one-axis table)."""
        if len(self.variables) == 1:
            return _interp1(self.index_1, [v for row in self.values for v in row], x)
        if len(self.index_1) == 1:
            return _interp1(self.index_2, self.values[0], y)
        i = _segment(self.index_1, x)
        low, high = self.values[i], self.values[i + 1]
        if len(self.index_2) == 1:
            near, far = float(low[0]), float(high[0])
        else:  # both rows at y, on one segment of the second axis
            j = _segment(self.index_2, y)
            t = (y - self.index_2[j]) / (self.index_2[j + 1] - self.index_2[j])
            near = float(low[j] + t * (low[j + 1] - low[j]))
            far = float(high[j] + t * (high[j + 1] - high[j]))
        t = (x - self.index_1[i]) / (self.index_1[i + 1] - self.index_1[i])
        return float(near + t * (far - near))


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
