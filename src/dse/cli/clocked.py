"""`dse simulate --clock`: clocked timing simulation of a netlist with flip-flops and latches."""

from __future__ import annotations

import argparse
import json

import pandas as pd

from cells.files import atomic_path, write_text
from cells.units import FJ_PER_J, S_PER_PS
from characterize.errors import SimulationError
from characterize.netlist.ir import Netlist


def simulate_clocked_netlist(args: argparse.Namespace, netlist: Netlist) -> int:
    """Run the clocked simulation the options ask for; write toggles (and the clocked Verilog)."""
    from characterize.timing.clocked import annotate_registers, energy_by_part, simulate_clocked
    from characterize.timing.clocked_verilog import write_clocked_testbench, write_clocked_verilog
    from characterize.timing.sequential_sta import sequential_timing
    from characterize.timing.vectors import read_vectors

    registers = netlist.registers
    if not args.clock:
        raise SimulationError(f"{args.netlist}: the netlist has {registers}; name the clock port with --clock")
    if not args.period_ps or args.period_ps <= 0:
        raise SimulationError("--clock needs a positive --period-ps")
    if args.vcd:
        raise SimulationError("--vcd is not available for clocked simulation; use --timed-verilog and a Verilog simulator")
    clocked = annotate_registers(netlist, args.clock)
    inputs = read_vectors(args.inputs, [p for p in netlist.inputs if p.name != args.clock])
    period_steps = round(args.period_ps * S_PER_PS / clocked.timed.resolution_s)
    result = simulate_clocked(clocked, inputs, period_steps)
    nets = range(2, len(netlist.nets))
    frame = pd.DataFrame({"net": [netlist.nets[n].lstrip("\\") for n in nets], "toggles": result.toggles[2:]})
    parts = energy_by_part(clocked, result.net_energy_j)
    total = sum(parts.values()) or 1.0
    cycles = len(result.energy_per_cycle_j)
    print(f"{registers}, {cycles} clock cycles counted (from the second), {int(result.toggles.sum())} toggles, "
          f"{result.events} events")
    print(f"energy per cycle: {result.energy_per_cycle_j.mean() * FJ_PER_J:.2f} fJ (leakage included); switching: "
          + ", ".join(f"{name} {100 * value / total:.1f} %" for name, value in parts.items()))
    timing = sequential_timing(clocked)
    slack = timing.setup_slack_ps(args.period_ps)
    hold = "" if timing.hold_slack_ps is None else f", worst hold slack {timing.hold_slack_ps:.0f} ps"
    where = f" ({timing.critical.kind} to {timing.critical.endpoint})" if timing.critical else ""
    print(f"minimum period (STA) {timing.min_period_ps:.0f} ps{where}, setup slack {slack:.0f} ps at {args.period_ps:g} ps{hold}")
    if result.races:
        print(f"warning: {result.races} register samples saw their data change at the clock edge (period too short)")
    with atomic_path(args.toggles) as partial:
        frame.to_csv(partial, index=False)
    print(f"wrote {args.toggles}")
    if args.json:
        report = {
            **timing.record(args.period_ps),
            "energy_per_cycle_fJ": float(result.energy_per_cycle_j.mean() * FJ_PER_J),
            "switching_energy_share": {name: value / total for name, value in parts.items()},
            "cycles": cycles,
            "races": result.races,
        }
        write_text(args.json, json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.timed_verilog:
        write_text(args.timed_verilog, write_clocked_verilog(clocked) + "\n"
                   + write_clocked_testbench(clocked, inputs, period_steps))
        print(f"wrote {args.timed_verilog} (the design and module tb with this stimulus: iverilog, then vvp prints "
              "toggles per net)")
    return 0
