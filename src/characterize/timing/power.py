"""Switching energy, leakage, average power and voltage scaling (alpha-power law).

Energy of one transition = Σ over nets of its rising changes × rise energy and
falling changes × fall energy, plus leakage power × clock period. A rise draws
C·V² from the supply (C: the net's load), a fall draws none, so on average a
toggle costs ½·C·V². To that adds the internal energy of the cell output that
drives the net and of the input pins it drives, from the Liberty rise and fall
tables at the nominal slew and the net's load.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cells.model import Cell, PowerArc
from characterize.errors import NetlistError
from characterize.netlist.ir import UNCONNECTED, Netlist

# Alpha-power-law defaults for sky130 hd at its 1.8 V typical corner.
DEFAULT_THRESHOLD_V = 0.45
DEFAULT_ALPHA = 1.3
RISE, FALL = 0, 1


def net_transition_energy(netlist: Netlist, input_slew: float, external_load: float) -> np.ndarray:
    """Energy (J) of a rising (row 0) and a falling (row 1) change of every net (columns)."""
    voltage = netlist.library.voltage
    load = netlist.load_capacitance(external_load)
    energy = np.zeros((2, len(netlist.nets)))
    energy[RISE] = load * voltage**2
    cells = netlist.library.cells
    for inst in netlist.instances:
        cell = cells[inst.cell]
        for pin, net in zip(cell.outputs, inst.outputs):
            if net != UNCONNECTED:
                energy[:, net] += _arc_energy([a for a in cell.power if a.pin == pin], input_slew, load[net])
        for pin, net in zip(cell.inputs, inst.inputs):
            energy[:, net] += _arc_energy(_input_arcs(cell, pin), input_slew, 0.0)
    energy[:, :2] = 0.0
    return energy


def _input_arcs(cell: Cell, pin: str) -> list[PowerArc]:
    return [a for a in cell.power if a.pin == pin and not a.related_pin]


def _arc_energy(arcs: list[PowerArc], slew: float, load: float) -> np.ndarray:
    """Internal energy of a rise and of a fall at a pin, averaged over the arcs from its related pins."""
    rises = [a.rise_energy.lookup(slew, load) for a in arcs if a.rise_energy is not None]
    falls = [a.fall_energy.lookup(slew, load) for a in arcs if a.fall_energy is not None]
    return np.array([np.mean(rises) if rises else 0.0, np.mean(falls) if falls else 0.0])


def leakage_energy(netlist: Netlist, period_s: float) -> float:
    """Leakage energy (J) over one clock period."""
    return netlist.leakage * period_s


def average_power(energy_per_op_j: float, period_s: float) -> float:
    """Average power (W) when one operation runs every `period_s` seconds."""
    if period_s <= 0:
        raise NetlistError(f"clock period must be positive, got {period_s}")
    return energy_per_op_j / period_s


@dataclass(frozen=True)
class VoltageScaling:
    """Result of lowering the supply until the worst sensitized delay meets a delay budget."""

    voltage: float
    delay_s: float
    energy_scale: float
    power_scale: float
    feasible: bool


def alpha_power_delay_scale(voltage: float, nominal: float, threshold: float, alpha: float) -> float:
    """Gate delay at `voltage` relative to `nominal`: t ∝ V / (V − Vth)^α (Sakurai–Newton)."""
    if voltage <= threshold:
        return float("inf")
    return (voltage / (voltage - threshold) ** alpha) / (nominal / (nominal - threshold) ** alpha)


def scale_voltage(
    worst_delay_s: float,
    budget_s: float,
    nominal_v: float,
    threshold_v: float = DEFAULT_THRESHOLD_V,
    alpha: float = DEFAULT_ALPHA,
    tolerance_v: float = 1e-4,
) -> VoltageScaling:
    """Lowest supply voltage at which `worst_delay_s` (measured at `nominal_v`) still fits `budget_s`.

    Dynamic energy per operation scales with V²; at a fixed clock, so does
    dynamic power. When the delay misses the budget even at the nominal
    voltage, the nominal point is returned with `feasible` False.
    """
    if budget_s <= 0 or worst_delay_s < 0:
        raise NetlistError(f"delay budget must be positive and delay non-negative, got {budget_s} and {worst_delay_s}")
    if worst_delay_s > budget_s:
        return VoltageScaling(nominal_v, worst_delay_s, 1.0, 1.0, False)
    if worst_delay_s == 0:
        low = threshold_v + tolerance_v
        return VoltageScaling(low, 0.0, (low / nominal_v) ** 2, (low / nominal_v) ** 2, True)
    low, high = threshold_v, nominal_v
    while high - low > tolerance_v:
        middle = (low + high) / 2
        if worst_delay_s * alpha_power_delay_scale(middle, nominal_v, threshold_v, alpha) <= budget_s:
            high = middle
        else:
            low = middle
    scale = (high / nominal_v) ** 2
    delay = worst_delay_s * alpha_power_delay_scale(high, nominal_v, threshold_v, alpha)
    return VoltageScaling(high, delay, scale, scale, True)
