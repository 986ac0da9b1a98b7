"""`dse timing`: static timing of a netlist with NLDM delays at propagated slews, the critical path as `report_checks`
prints it, SDF in and out."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cells.files import write_text
from cells.units import F_PER_FF, FF_PER_F, PS_PER_S, S_PER_PS
from dse.cli.options import add_library_option


def register(commands) -> None:
    parser = commands.add_parser(
        "timing",
        help="static timing: critical delay and path of a gate netlist",
        description="Delay calculation per timing arc (Liberty NLDM tables at each arc's propagated input slew and "
        "its output's load: fanout pins, wire-load model, output-port load) and the critical path, stage by stage.",
    )
    parser.add_argument("netlist", type=Path, metavar="NETLIST.v")
    add_library_option(parser)
    parser.add_argument("--input-slew-ps", type=float, default=40.0, metavar="S",
                        help="transition time at every input port, ps")
    parser.add_argument("--output-load-ff", type=float, metavar="C",
                        help="load on every output-port bit (default: the input capacitance of the smallest inverter)")
    parser.add_argument("--sdf", type=Path, metavar="FILE.sdf", help="take arc and interconnect delays from this SDF")
    parser.add_argument("--sdf-out", type=Path, metavar="FILE.sdf", help="write the delays as SDF 3.0")
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="write critical_delay_ps and path as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # The timing modules (with the simulator's numba kernel behind the SDF writer): loaded only for this command.
    from cells.default import load_library
    from characterize.netlist.verilog import read_verilog
    from characterize.timing.delaycalc import calculate_delays
    from characterize.timing.delays import default_external_load
    from characterize.timing.sdf import format_sdf, read_sdf
    from characterize.timing.sta import critical_path

    library = load_library(args.library)
    netlist = read_verilog(args.netlist, library)
    load_f = default_external_load(library) if args.output_load_ff is None else args.output_load_ff * F_PER_FF
    slew_s = args.input_slew_ps * S_PER_PS
    calc = read_sdf(args.sdf, netlist, slew_s, load_f) if args.sdf else calculate_delays(netlist, slew_s, load_f)
    report = critical_path(calc)
    print(f"{netlist.name}: {len(netlist.instances)} cells; input slew {args.input_slew_ps:g} ps, "
          f"output load {load_f * FF_PER_F:g} fF{'; delays from ' + str(args.sdf) if args.sdf else ''}")
    print(f"{'slew_ps':>9} {'delay_ps':>9} {'time_ps':>9}  {'edge':4}  pin (cell)  arc")
    for stage in report.path:
        cell = f" ({stage.cell})" if stage.cell else ""
        print(f"{stage.slew_s * PS_PER_S:9.1f} {stage.delay_s * PS_PER_S:9.1f} {stage.arrival_s * PS_PER_S:9.1f}  "
              f"{stage.edge:4}  {stage.pin}{cell}  {stage.arc}")
    print(f"critical delay: {report.critical_delay_s * PS_PER_S:.1f} ps")
    sdf_text = format_sdf(calc) if args.sdf_out else None
    if args.json:
        path = [
            {"pin": stage.pin, "instance": stage.instance, "cell": stage.cell, "edge": stage.edge, "arc": stage.arc,
             "slew_ps": stage.slew_s * PS_PER_S, "delay_ps": stage.delay_s * PS_PER_S,
             "arrival_ps": stage.arrival_s * PS_PER_S, "load_ff": None if stage.load_f is None else stage.load_f * FF_PER_F}
            for stage in report.path
        ]
        write_text(args.json, json.dumps({"critical_delay_ps": report.critical_delay_s * PS_PER_S, "path": path}, indent=2))
        print(f"wrote {args.json}")
    if sdf_text is not None:
        write_text(args.sdf_out, sdf_text)
        print(f"wrote {args.sdf_out}")
    return 0
