"""`dse simulate`: timing simulation of a netlist over user vectors, with toggle counts, VCD, SAIF and timed Verilog."""

from __future__ import annotations

import argparse
from pathlib import Path

from cells.units import FJ_PER_J, NW_PER_W, PS_PER_S, S_PER_PS, UW_PER_W
from characterize.errors import SimulationError
from dse.cli.clocked import simulate_clocked_netlist
from dse.cli.netlist import describe, physical_note
from dse.cli.options import add_library_option, positive_int


def register(commands) -> None:
    parser = commands.add_parser(
        "simulate",
        help="event-driven timing simulation of a gate netlist",
        description="Apply the vectors of a CSV one after another to a structural Verilog netlist and count every "
        "net's toggles (glitches included) with per-arc library delays (or an SDF's) and the path-delay semantics "
        "of a Verilog simulator's specify paths.",
    )
    parser.add_argument("netlist", type=Path, metavar="NETLIST.v")
    parser.add_argument("--inputs", type=Path, required=True, metavar="VECTORS.csv",
                        help="header naming the input ports, one row of integers per vector")
    add_library_option(parser)
    parser.add_argument("--period-ps", type=float,
                        help="clock period: spacing of vectors in the VCD, and for average power; with --clock, the period")
    parser.add_argument("--clock", metavar="PORT",
                        help="simulate flip-flops clocked by this input port: row i at i*P, clock rising at i*P + P/2")
    parser.add_argument("--json", type=Path, metavar="OUT.json",
                        help="with --clock: min_period_ps, setup and hold slack, the critical path, energy per cycle")
    parser.add_argument("--toggles", type=Path, required=True, metavar="OUT.csv", help="net,toggles,glitches per net")
    parser.add_argument("--vcd", type=Path, metavar="OUT.vcd", help="write a VCD of the simulated transitions")
    parser.add_argument("--vcd-transitions", type=int, default=1000, metavar="N",
                        help="how many transitions (from the first) the VCD holds")
    parser.add_argument("--saif", type=Path, metavar="OUT.saif",
                        help="write the switching activity of every net (SAIF 2.0: T0, T1, TC) for other power tools")
    parser.add_argument("--timed-verilog", type=Path, metavar="OUT.v",
                        help="write the simulated netlist for Icarus Verilog (iverilog -gspecify), one path-delay "
                        "module per gate; with --clock, behavioural registers and a testbench module tb that "
                        "applies the vectors and prints toggles per net")
    parser.add_argument("--sdf", type=Path, metavar="FILE.sdf",
                        help="arc and interconnect delays from this SDF instead of the library's tables")
    parser.add_argument("--jobs", type=positive_int, metavar="J",
                        help="threads that simulate chunks of the transitions at once, with the results of one "
                        "(combinational netlists; default: NUMBA_NUM_THREADS when set, else every core this process "
                        "may use, but one for a short run where the simulation's loops are built ahead of time)")
    parser.set_defaults(run=run)


def check_arguments(args: argparse.Namespace) -> None:
    """Every argument checked before anything is written: a failing command leaves existing outputs alone."""
    if args.vcd and args.vcd_transitions < 1:
        raise SimulationError(f"--vcd-transitions must be at least 1, got {args.vcd_transitions}")
    if args.period_ps is not None and not args.period_ps > 0:
        raise SimulationError(f"--period-ps must be positive, got {args.period_ps}")
    inputs = {args.netlist.resolve(), args.inputs.resolve()}
    seen = set()
    for path in (args.toggles, args.vcd, args.timed_verilog):
        if path is not None:
            if path.resolve() in inputs or path.resolve() in seen:
                raise SimulationError(f"{path}: named twice (as an input or as two outputs)")
            seen.add(path.resolve())


def run(args: argparse.Namespace) -> int:
    from cells.default import load_library
    from characterize.netlist.verilog import read_verilog
    from characterize.timing.vectors import (
        simulate_vectors,
        write_activity,
        write_timed_netlist,
        write_toggles,
        write_waveform,
    )

    check_arguments(args)
    netlist = read_verilog(args.netlist, load_library(args.library))
    print(f"{netlist.name}: {describe(netlist)}")
    if physical_note(netlist):
        print(physical_note(netlist))
    if args.json and not args.clock:
        raise SimulationError("--json reports the clocked timing; it needs --clock")
    if args.clock or netlist.register_count:
        if args.sdf:
            raise SimulationError("--sdf: SDF delays apply to combinational netlists; a clocked netlist is timed "
                                  "from the library")
        return simulate_clocked_netlist(args, netlist)
    period_s = args.period_ps * S_PER_PS if args.period_ps else None
    simulation = simulate_vectors(netlist, args.inputs, period_s=period_s, sdf_path=args.sdf,
                                  threads=args.jobs)
    timed, result = simulation.timed, simulation.result
    write_toggles(simulation, args.toggles)
    delays_ps = result.sensitized_delay_s * PS_PER_S
    print(f"{result.transitions} transitions, "
          f"{int(result.toggles.sum())} toggles ({int(result.glitches.sum())} glitches), {result.events} events")
    print(f"sensitized delay: max {delays_ps.max():.0f} ps, mean {delays_ps.mean():.0f} ps; "
          f"critical (STA) {simulation.critical_delay_s * PS_PER_S:.0f} ps")
    print(f"switching energy: {simulation.energy_per_transition_j * FJ_PER_J:.2f} fJ per transition")
    if period_s:
        print(f"average power at {args.period_ps:g} ps: {simulation.average_power_w * UW_PER_W:.3f} uW "
              f"(leakage {simulation.energy.model.leakage_power_w * NW_PER_W:.3f} nW)")
        if simulation.late_transitions:
            print(f"warning: {simulation.late_transitions} transitions settle later than the period")
        if simulation.vcd_period_steps is None:
            print(f"note: the VCD spaces vectors by the settling bound ({timed.settle_bound_steps} ps), not the period")
    print(f"wrote {args.toggles}")
    if args.vcd:
        count = write_waveform(simulation, args.vcd, args.vcd_transitions)
        print(f"wrote {args.vcd} ({count} transitions)")
    if args.saif:
        from characterize.timing.timed_verilog import module_name

        write_activity(simulation, args.saif)
        print(f"wrote {args.saif} (scope {module_name(netlist)})")
    if args.timed_verilog:
        write_timed_netlist(simulation, args.timed_verilog)
        print(f"wrote {args.timed_verilog}")
    return 0
