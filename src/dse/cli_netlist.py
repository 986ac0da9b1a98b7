"""`dse netlist`: write a multiplier or MAC netlist, optionally with an embedded weight."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from characterize.choices import ADDERS, ARCHITECTURES, STRATEGIES

if TYPE_CHECKING:
    from characterize.netlist.ir import Netlist
    from characterize.passes.designs import MultiplierSpec


def register(commands) -> None:
    from dse.cli import add_library_option

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


def add_multiplier_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bits", type=int, required=True, help="operand width, 2 to 16")
    parser.add_argument("--unsigned", action="store_true", help="unsigned operands (default: two's complement)")
    parser.add_argument("--arch", choices=ARCHITECTURES, default="array", help="multiplier architecture")
    parser.add_argument("--adder", choices=ADDERS, default="ripple", help="final adder: ripple or carry-lookahead")
    parser.add_argument("--mac", type=int, metavar="ACC_BITS", help="build a MAC with an accumulator of this width")


def spec_from_args(args: argparse.Namespace) -> MultiplierSpec:
    from characterize.passes.designs import MultiplierSpec

    return MultiplierSpec(args.bits, not args.unsigned, args.arch, args.adder, args.mac)


def describe(netlist: Netlist) -> str:
    transistors = "" if netlist.transistors is None else f", {netlist.transistors} transistors"
    return f"{len(netlist.instances)} cells, {netlist.area:.2f} um2{transistors}"


def run(args: argparse.Namespace) -> int:
    from cells.default import load_library
    from characterize.netlist.techmap import CellMatcher
    from characterize.netlist.verilog import write_verilog
    from characterize.passes.designs import embedded_designs, reference_design, smallest, verify_product

    library = load_library(args.library)
    matcher = CellMatcher(library)
    spec = spec_from_args(args)
    reference = reference_design(spec, library, matcher)
    design = reference
    if args.weight is not None:
        designs = embedded_designs(reference, spec, args.weight, args.strategy, matcher)
        if len(designs) > 1:
            print("; ".join(f"{name}: {describe(d)}" for name, d in designs.items()))
        design = smallest(designs)
        verify_product(design, spec, weight=args.weight)
    args.output.write_text(write_verilog(design))
    print(f"{design.name}: {describe(design)}")
    if design is not reference:
        change = 100.0 * (design.area - reference.area) / reference.area
        print(f"reference (no embedded weight): {describe(reference)}; area change {change:+.1f} %")
    print(f"wrote {args.output}")
    return 0
