"""Errors of the characterize package."""

from __future__ import annotations

from cells.errors import GatedseError


class NetlistError(GatedseError):
    """A netlist is malformed: undriven or multiply driven nets, loops, unknown cells or pins."""


class GeneratorError(GatedseError):
    """A circuit generator was asked for something it cannot build."""


class SimulationError(GatedseError):
    """A simulation was asked for with inputs, weights or settings that do not fit the netlist."""
