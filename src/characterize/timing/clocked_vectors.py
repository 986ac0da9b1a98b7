"""Clocked simulation of a netlist over a vectors file: what `dse simulate --clock` computes, as one call.

Each row of the vectors file (every input port but the clock) is one clock cycle of
`clocked.simulate_clocked`. The result adds what a user checks a clocked design with:
the energy per cycle, the switching energy split into the clock network, the register
outputs and the other logic, and the registers' static timing (`sequential_sta`):
minimum period, setup slack at the simulated period, worst hold slack, critical path.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cells.files import atomic_path, write_text
from cells.units import FJ_PER_J, S_PER_PS
from characterize.netlist.ir import Netlist
from characterize.timing.clocked import (
    ClockedGates,
    ClockedResult,
    annotate_registers,
    energy_by_part,
    simulate_clocked,
)
from characterize.timing.clocked_verilog import write_clocked_testbench, write_clocked_verilog
from characterize.timing.sequential_sta import SequentialTiming, sequential_timing
from characterize.timing.vectors import read_vectors


@dataclass(frozen=True, eq=False)
class ClockedSimulation:
    """One clocked netlist simulated over a vectors file (`inputs`, per port) at `period_steps`; `energy_by_part_j`
    is the switching energy (J, all cycles) of the clock network, the register outputs and the other logic."""

    clocked: ClockedGates
    inputs: dict[str, np.ndarray]
    result: ClockedResult
    timing: SequentialTiming
    period_ps: float
    period_steps: int
    energy_by_part_j: dict[str, float]

    @property
    def cycles(self) -> int:
        """Clock cycles counted: every row but the first, which only sets the start."""
        return len(self.result.energy_per_cycle_j)

    @property
    def energy_per_cycle_j(self) -> float:
        """Mean energy per clock cycle (J), leakage included."""
        return float(self.result.energy_per_cycle_j.mean())

    @property
    def switching_shares(self) -> dict[str, float]:
        """Each part's share of the switching energy (0 to 1)."""
        total = sum(self.energy_by_part_j.values()) or 1.0
        return {name: value / total for name, value in self.energy_by_part_j.items()}

    def record(self) -> dict:
        """The JSON record: the timing's (`period_ps`, `input_delay_ps`, `min_period_ps`, `setup_slack_ps`,
        `hold_slack_ps`, `critical`), `energy_per_cycle_fJ`, `switching_energy_share`, `cycles` and `races`."""
        return {
            **self.timing.record(self.period_ps),
            "energy_per_cycle_fJ": self.energy_per_cycle_j * FJ_PER_J,
            "switching_energy_share": self.switching_shares,
            "cycles": self.cycles,
            "races": self.result.races,
        }


def simulate_clocked_vectors(netlist: Netlist, vectors_path: str | Path, clock: str,
                             period_ps: float) -> ClockedSimulation:
    """Simulate one clock cycle per row of the vectors file (header: every input port but `clock`) at `period_ps`."""
    clocked = annotate_registers(netlist, clock)
    inputs = read_vectors(vectors_path, [p for p in netlist.inputs if p.name != clock])
    period_steps = round(period_ps * S_PER_PS / clocked.timed.resolution_s)
    result = simulate_clocked(clocked, inputs, period_steps)
    return ClockedSimulation(clocked, inputs, result, sequential_timing(clocked), period_ps, period_steps,
                             energy_by_part(clocked, result.net_energy_j))


def write_clocked_toggles(simulation: ClockedSimulation, path: str | Path) -> Path:
    """net, toggles per net (the two constant nets left out) as CSV, counted from the second cycle on."""
    netlist = simulation.clocked.netlist
    rows = zip((name.lstrip("\\") for name in netlist.nets[2:]), simulation.result.toggles[2:].tolist())
    with atomic_path(path) as partial, partial.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("net", "toggles"))
        writer.writerows(rows)
    return Path(path)


def write_clocked_netlist(simulation: ClockedSimulation, path: str | Path) -> Path:
    """The simulated netlist as Verilog with its registers and module `tb` applying the simulated stimulus, for
    Icarus Verilog (`clocked_verilog`): iverilog -gspecify, then vvp prints the toggles per net."""
    clocked = simulation.clocked
    return write_text(path, write_clocked_verilog(clocked) + "\n"
                      + write_clocked_testbench(clocked, simulation.inputs, simulation.period_steps))
