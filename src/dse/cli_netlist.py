"""`dse netlist`: write a multiplier or MAC netlist, optionally with an embedded weight."""

from __future__ import annotations

import argparse
from pathlib import Path

from cells.default import load_library
from characterize.generators import ADDERS, ARCHITECTURES
from characterize.netlist.ir import Netlist
from characterize.netlist.techmap import CellMatcher
from characterize.passes.designs import (
    STRATEGIES,
    MultiplierSpec,
    embedded_designs,
    pe_design,
    reference_design,
    smallest,
    verify_product,
)


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


def add_multiplier_options(parser: argparse.ArgumentParser, bits_required: bool = True) -> None:
    parser.add_argument("--bits", type=int, required=bits_required, help="operand width, 2 to 16")
    parser.add_argument("--unsigned", action="store_true", help="unsigned operands (default: two's complement)")
    parser.add_argument("--arch", choices=ARCHITECTURES, default="array", help="multiplier architecture")
    parser.add_argument("--adder", choices=ADDERS, default="ripple", help="final adder: ripple or carry-lookahead")
    parser.add_argument("--mac", type=int, metavar="ACC_BITS", help="build a MAC with an accumulator of this width")
    parser.add_argument("--pe", action="store_true",
                        help="the clocked systolic-array processing element: ports clk, w (weight), a (activation), "
                        "psum_in (partial sum in); outputs a_out (registered activation), psum_out (registered "
                        "psum_in + a*w)")
    parser.add_argument("--acc-bits", type=int, metavar="N", help="--pe: partial-sum width (default 2*bits + 4)")


def spec_from_args(args: argparse.Namespace) -> MultiplierSpec:
    from characterize.errors import GeneratorError

    if not args.pe:
        if args.acc_bits is not None:
            raise GeneratorError("--acc-bits is the partial-sum width of --pe; use --mac for a MAC")
        return MultiplierSpec(args.bits, not args.unsigned, args.arch, args.adder, args.mac)
    if args.mac is not None:
        raise GeneratorError("--pe has its own accumulator: give its width with --acc-bits, not --mac")
    acc_bits = args.acc_bits if args.acc_bits is not None else 2 * args.bits + 4
    return MultiplierSpec(args.bits, not args.unsigned, args.arch, args.adder, acc_bits, pe=True)


def describe(netlist: Netlist) -> str:
    transistors = "" if netlist.transistors is None else f", {netlist.transistors} transistors"
    registers = sum(1 for i in netlist.instances if netlist.library.cells[i.cell].sequential)
    flops = f" ({registers} flip-flops)" if registers else ""
    return f"{len(netlist.instances)} cells{flops}, {netlist.area:.2f} um2{transistors}"


def physical_note(netlist: Netlist) -> str | None:
    """One line naming the physical-only cells that reading the netlist left out, or None."""
    if not netlist.physical_cells:
        return None
    counts = ", ".join(f"{name} x{count}" for name, count in sorted(netlist.physical_cells.items()))
    total = sum(netlist.physical_cells.values())
    return f"note: ignored {total} physical-only cells (no logic function): {counts}"


def run(args: argparse.Namespace) -> int:
    from characterize.netlist.verilog import write_verilog

    library = load_library(args.library)
    matcher = CellMatcher(library)
    spec = spec_from_args(args)
    reference = reference_design(spec, library, matcher)
    design = reference
    if args.weight is not None and spec.pe:
        spec.check_weight(args.weight)
        design = pe_design(spec, library, matcher, args.weight, args.strategy)
    elif args.weight is not None:
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
