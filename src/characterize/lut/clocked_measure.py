"""Measurements of a clocked design (the systolic-array PE) for the characterization sweep.

One operation is one clock cycle: energy per cycle (clock network, registers and
logic, leakage included), toggles and glitches per cycle, area, and the minimum
period from sequential STA, which a clocked LUT reports as its critical delay and as
its sensitized delays (no per-transition delay is measured in a clocked design). The
MAC's share of area and switching energy and the clock's and registers' shares of
switching energy are added as extra LUT columns.
"""

from __future__ import annotations

import numpy as np

from cells.units import FJ_PER_J, NW_PER_W
from characterize.generators.pe import MAC_PREFIX
from characterize.netlist.ir import Netlist
from characterize.timing.clocked import annotate_registers, energy_by_part, simulate_clocked
from characterize.timing.sequential_sta import sequential_timing

CLOCK_PORT = "clk"  # the processing element's clock
PE_COLUMNS = ("mac_area_um2", "mac_energy_share", "clock_energy_share", "register_energy_share")


def min_period_ps(design: Netlist, clock: str, input_slew_s: float, external_load_f: float) -> float:
    """The design's minimum clock period (ps) by sequential STA."""
    clocked = annotate_registers(design, clock, input_slew_s, external_load_f)
    return sequential_timing(clocked).min_period_ps


def measure_clocked(design: Netlist, clock: str, inputs: dict[str, np.ndarray], period_s: float, input_slew_s: float,
                    external_load_f: float) -> tuple[dict, np.ndarray]:
    """LUT fields of one clocked design over the given rows, and the energy (J) of each counted cycle."""
    clocked = annotate_registers(design, clock, input_slew_s, external_load_f)
    period_steps = round(period_s / clocked.timed.resolution_s)
    result = simulate_clocked(clocked, inputs, period_steps)
    timing = sequential_timing(clocked)
    cycles = len(result.energy_per_cycle_j)
    parts = energy_by_part(clocked, result.net_energy_j)
    switching = sum(parts.values()) or 1.0
    in_mac = np.array([d >= 0 and design.instances[d].name.startswith(MAC_PREFIX) for d in design.driver])
    mac_area = sum(design.library.cells[i.cell].area for i in design.instances if i.name.startswith(MAC_PREFIX))
    fields = {
        "cells": len(design.instances),
        "area_um2": design.area,
        "critical_delay_ps": timing.min_period_ps,
        "max_sensitized_delay_ps": timing.min_period_ps,
        "mean_sensitized_delay_ps": timing.min_period_ps,
        "energy_per_op_fJ": float(result.energy_per_cycle_j.mean() * FJ_PER_J),
        "toggles_per_op": float(result.toggles.sum() / cycles),
        "glitches_per_op": float(result.glitches.sum() / cycles),
        "leakage_nW": design.leakage * NW_PER_W,
        "mac_area_um2": mac_area,
        "mac_energy_share": float(result.net_energy_j[in_mac].sum() / switching),
        "clock_energy_share": parts["clock"] / switching,
        "register_energy_share": parts["registers"] / switching,
    }
    return fields, result.energy_per_cycle_j
