"""`dse simulate --clock`: clocked timing simulation of a netlist with flip-flops and latches."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from cells.files import write_text
from cells.units import FJ_PER_J
from characterize.errors import SimulationError

if TYPE_CHECKING:
    from characterize.netlist.ir import Netlist


def simulate_clocked_netlist(args: argparse.Namespace, netlist: Netlist) -> int:
    """Run the clocked simulation the options ask for; write toggles (and the clocked Verilog)."""
    from characterize.timing.clocked_vectors import (
        simulate_clocked_vectors,
        write_clocked_netlist,
        write_clocked_toggles,
    )

    registers = netlist.registers
    if not args.clock:
        raise SimulationError(f"{args.netlist}: the netlist has {registers}; name the clock port with --clock")
    if not args.period_ps or args.period_ps <= 0:
        raise SimulationError("--clock needs a positive --period-ps")
    if args.vcd:
        raise SimulationError("--vcd is not available for clocked simulation; use --timed-verilog and a Verilog simulator")
    simulation = simulate_clocked_vectors(netlist, args.inputs, args.clock, args.period_ps)
    result, timing = simulation.result, simulation.timing
    print(f"{registers}, {simulation.cycles} clock cycles counted (from the second), {int(result.toggles.sum())} "
          f"toggles, {result.events} events")
    print(f"energy per cycle: {simulation.energy_per_cycle_j * FJ_PER_J:.2f} fJ (leakage included); switching: "
          + ", ".join(f"{name} {100 * share:.1f} %" for name, share in simulation.switching_shares.items()))
    slack = timing.setup_slack_ps(args.period_ps)
    hold = "" if timing.hold_slack_ps is None else f", worst hold slack {timing.hold_slack_ps:.0f} ps"
    where = f" ({timing.critical.kind} to {timing.critical.endpoint})" if timing.critical else ""
    print(f"minimum period (STA) {timing.min_period_ps:.0f} ps{where}, setup slack {slack:.0f} ps at {args.period_ps:g} ps{hold}")
    if result.races:
        print(f"warning: {result.races} register samples saw their data change at the clock edge (period too short)")
    write_clocked_toggles(simulation, args.toggles)
    print(f"wrote {args.toggles}")
    if args.json:
        write_text(args.json, json.dumps(simulation.record(), indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.timed_verilog:
        write_clocked_netlist(simulation, args.timed_verilog)
        print(f"wrote {args.timed_verilog} (the design and module tb with this stimulus: iverilog -gspecify, then vvp prints "
              "toggles per net)")
    return 0
