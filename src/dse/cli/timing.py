"""`dse timing`: static timing of a netlist with NLDM delays at propagated slews, the critical path as `report_checks`
prints it, SDF in and out; with `--clock`, sequential timing of a netlist with flip-flops (minimum period, slacks)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from cells.files import write_text
from cells.units import F_PER_FF, FF_PER_F, PS_PER_S, S_PER_PS
from characterize.errors import SimulationError
from dse.cli.options import add_library_option

if TYPE_CHECKING:
    from characterize.netlist.ir import Netlist


def register(commands) -> None:
    parser = commands.add_parser(
        "timing",
        help="static timing: critical delay and path of a gate netlist, or the minimum period of a clocked one",
        description="Delay calculation per timing arc (Liberty NLDM tables at each arc's propagated input slew and "
        "its output's load: fanout pins, wire-load model, output-port load) and the critical path, stage by stage. "
        "With --clock, a netlist with flip-flops: the minimum clock period, setup and hold slack and the critical "
        "path (register-to-register, input-to-register, register-to-output).",
    )
    parser.add_argument("netlist", type=Path, metavar="NETLIST.v")
    add_library_option(parser)
    parser.add_argument("--input-slew-ps", type=float, default=40.0, metavar="S",
                        help="transition time at every input port, ps")
    parser.add_argument("--output-load-ff", type=float, metavar="C",
                        help="load on every output-port bit (default: the input capacitance of the smallest inverter)")
    parser.add_argument("--sdf", type=Path, metavar="FILE.sdf", help="take arc and interconnect delays from this SDF")
    parser.add_argument("--sdf-out", type=Path, metavar="FILE.sdf", help="write the delays as SDF 3.0")
    parser.add_argument("--clock", metavar="PORT",
                        help="time the flip-flops clocked by this input port (inputs change half a period after an edge)")
    parser.add_argument("--period-ps", type=float, metavar="P", help="with --clock: the clock period for the setup slack")
    parser.add_argument("--input-delay-ps", type=float, metavar="D",
                        help="with --clock: inputs change D ps after the clock edge, as OpenSTA's set_input_delay "
                        "(outputs are required at the next edge, set_output_delay 0); default: half a period after "
                        "it, as dse simulate --clock applies them")
    parser.add_argument("--json", type=Path, metavar="OUT.json",
                        help="write critical_delay_ps and path as JSON; with --clock, period_ps, input_delay_ps, "
                        "min_period_ps, setup_slack_ps, hold_slack_ps and critical")
    parser.set_defaults(run=run)


def check_arguments(args: argparse.Namespace) -> None:
    """Option combinations refused before the netlist is read."""
    if args.clock and (args.sdf or args.sdf_out):
        option = "--sdf" if args.sdf else "--sdf-out"
        raise SimulationError(f"{option}: SDF delays apply to combinational netlists; a clocked netlist is timed "
                              "from the library")
    if args.period_ps is not None and not args.clock:
        raise SimulationError("--period-ps is the clock period of --clock; it needs --clock")
    if args.input_delay_ps is not None and not args.clock:
        raise SimulationError("--input-delay-ps times the inputs against --clock; it needs --clock")
    if args.input_delay_ps is not None and not args.input_delay_ps >= 0:
        raise SimulationError(f"--input-delay-ps must not be negative, got {args.input_delay_ps}")
    if args.period_ps is not None and not args.period_ps > 0:
        raise SimulationError(f"--period-ps must be positive, got {args.period_ps}")


def run(args: argparse.Namespace) -> int:
    from cells.default import load_library
    from characterize.netlist.verilog import read_verilog
    from characterize.timing.delay_cache import cached_delays
    from characterize.timing.delays import default_external_load
    from characterize.timing.sdf import format_sdf, read_sdf
    from characterize.timing.sta import critical_path
    from dse.cli.netlist import describe, physical_note

    check_arguments(args)
    library = load_library(args.library)
    netlist = read_verilog(args.netlist, library)
    load_f = default_external_load(library) if args.output_load_ff is None else args.output_load_ff * F_PER_FF
    slew_s = args.input_slew_ps * S_PER_PS
    if netlist.register_count and not args.clock:
        raise SimulationError(f"{args.netlist}: the netlist has {netlist.registers}; "
                              "name the clock port with --clock")
    print(f"{netlist.name}: {describe(netlist)}")
    if physical_note(netlist):
        print(physical_note(netlist))
    if args.clock:
        return time_clocked_netlist(args, netlist, slew_s, load_f)
    calc = read_sdf(args.sdf, netlist, slew_s, load_f) if args.sdf else cached_delays(netlist, slew_s, load_f)
    report = critical_path(calc)
    print(f"input slew {args.input_slew_ps:g} ps, output load {load_f * FF_PER_F:g} fF"
          f"{'; delays from ' + str(args.sdf) if args.sdf else ''}")
    print(f"{'slew_ps':>9} {'delay_ps':>9} {'time_ps':>9}  {'edge':4}  pin (cell)  arc")
    for stage in report.path:
        cell = f" ({stage.cell})" if stage.cell else ""
        print(f"{stage.slew_s * PS_PER_S:9.1f} {stage.delay_s * PS_PER_S:9.1f} {stage.arrival_s * PS_PER_S:9.1f}  "
              f"{stage.edge:4}  {stage.pin}{cell}  {stage.arc}")
    print(f"critical delay: {report.critical_delay_s * PS_PER_S:.1f} ps")
    sdf_text = format_sdf(calc) if args.sdf_out else None
    if args.json:
        write_text(args.json, json.dumps(report.record(), indent=2))
        print(f"wrote {args.json}")
    if sdf_text is not None:
        write_text(args.sdf_out, sdf_text)
        print(f"wrote {args.sdf_out}")
    return 0


def time_clocked_netlist(args: argparse.Namespace, netlist: Netlist, slew_s: float, load_f: float) -> int:
    """Sequential static timing: minimum period, setup slack at --period-ps, worst hold slack, the critical path."""
    from characterize.timing.clocked import annotate_registers
    from characterize.timing.sequential_sta import sequential_timing

    delay_s = None if args.input_delay_ps is None else args.input_delay_ps * S_PER_PS
    timing = sequential_timing(annotate_registers(netlist, args.clock, slew_s, load_f), input_delay_s=delay_s)
    record = timing.record(args.period_ps)
    inputs = "half a period" if delay_s is None else f"{args.input_delay_ps:g} ps"
    print(f"clock {args.clock}; input slew {args.input_slew_ps:g} ps, output load {load_f * FF_PER_F:g} fF; "
          f"inputs change {inputs} after the clock edge")
    where = f" ({timing.critical.kind} to {timing.critical.endpoint})" if timing.critical else ""
    print(f"minimum period: {timing.min_period_ps:.0f} ps{where}")
    if args.period_ps is not None:
        print(f"setup slack: {record['setup_slack_ps']:.0f} ps at {args.period_ps:g} ps")
    if timing.hold_slack_ps is not None:
        print(f"worst hold slack: {timing.hold_slack_ps:.0f} ps")
    if timing.critical:
        origin = "the input change" if delay_s is None else "the clock edge"
        print(f"critical path (time from the launching clock edge; from an input, from {origin}):")
        print(f"{'time_ps':>9}  net edge")
        for point, time_s in zip(timing.critical.path, timing.critical.arrivals_s):
            print(f"{time_s * PS_PER_S:9.1f}  {point}")
    if args.json:
        write_text(args.json, json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
