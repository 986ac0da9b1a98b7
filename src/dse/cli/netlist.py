"""`dse netlist`: write a multiplier or MAC netlist, optionally with an embedded weight."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cells.files import write_text
from cells.units import PS_PER_S, reduction_pct
from characterize.choices import STRATEGIES
from dse.cli.options import add_library_option, add_multiplier_options, dont_use_from_args, spec_from_args

if TYPE_CHECKING:
    from characterize.netlist.ir import Netlist


def register(commands) -> None:
    parser = commands.add_parser(
        "netlist",
        help="write a multiplier/MAC gate netlist",
        description="Generate a multiplier (or MAC), optionally embed a constant weight and simplify, "
        "check it exhaustively against a*w, and write structural Verilog.",
    )
    add_multiplier_options(parser)
    parser.add_argument("--weight", type=int, metavar="W", help="embed this weight value and simplify")
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="simplify",
        help="how to simplify an embedded weight: our passes, resynthesis with yosys/ABC, or the smaller of both",
    )
    add_library_option(parser)
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.v", help="Verilog file to write")
    parser.set_defaults(run=run)


def describe(netlist: Netlist) -> str:
    transistors = "" if netlist.transistors is None else f", {netlist.transistors} transistors"
    flops = f" ({netlist.registers})" if netlist.register_count else ""
    return f"{len(netlist.instances)} cells{flops}, {netlist.area:.2f} um2{transistors}"


def physical_note(netlist: Netlist) -> str | None:
    """One line naming the physical-only cells that reading the netlist left out, or None."""
    if not netlist.physical_cells:
        return None
    counts = ", ".join(f"{name} x{count}" for name, count in sorted(netlist.physical_cells.items()))
    total = sum(netlist.physical_cells.values())
    return f"note: ignored {total} physical-only cells (no logic function): {counts}"


def critical_delay_ps(netlist: Netlist) -> float:
    """The netlist's critical delay at the default input slew and output load, as `dse timing` reports it."""
    from characterize.timing.delaycalc import calculate_delays
    from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, default_external_load
    from characterize.timing.sta import critical_path

    calc = calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, default_external_load(netlist.library))
    return critical_path(calc).critical_delay_s * PS_PER_S


def run(args: argparse.Namespace) -> int:
    from cells.default import load_library
    from characterize.netlist.techmap import CellMatcher
    from characterize.netlist.verilog import write_verilog
    from characterize.passes.designs import build_netlist
    from characterize.passes.sizing import upsized_cells

    library = load_library(args.library)
    matcher = CellMatcher(library, dont_use_from_args(args))
    spec = spec_from_args(args)
    built = build_netlist(spec, library, matcher, args.weight, args.strategy, args.size_for)
    design, reference = built.design, built.reference
    if len(built.candidates) > 1:
        print("; ".join(f"{name}: {describe(d)}" for name, d in built.candidates.items()))
    write_text(args.output, write_verilog(design))
    print(f"{design.name}: {describe(design)}")
    if args.size_for != "area":
        timing = "" if spec.pe else (f", critical {critical_delay_ps(design):.0f} ps "
                                     f"(sized for area: {critical_delay_ps(built.mapped):.0f} ps)")
        print(f"sized for {args.size_for}: {upsized_cells(design, matcher)} upsized cells{timing}")
    if design is not reference:
        change_pct = -reduction_pct(design.area, reference.area)
        print(f"reference (no embedded weight): {describe(reference)}; area change {change_pct:+.1f} %")
    print(f"wrote {args.output}")
    return 0
