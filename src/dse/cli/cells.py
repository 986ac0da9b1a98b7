"""`dse cells list|verilog`: inspect a cell library and export behavioral models of its cells."""

from __future__ import annotations

import argparse
from pathlib import Path

from cells.files import write_text
from dse.cli.options import add_library_option


def register(commands) -> None:
    cells = commands.add_parser("cells", help="inspect the cell library",
                                description="Inspect a Liberty cell library and export behavioral models of its cells.")
    sub = cells.add_subparsers(title="cells commands", metavar="COMMAND")
    listing = sub.add_parser("list", help="print the cells with area and function",
                             description="Print every cell of the library with its area, transistor count "
                             "and Boolean function.")
    add_library_option(listing)
    listing.set_defaults(run=run_list)
    models = sub.add_parser("verilog", help="write behavioral Verilog models of the cells",
                            description="Write a behavioral Verilog model of every cell, so that any Verilog "
                            "simulator runs the netlists dse writes.")
    add_library_option(models)
    models.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="Verilog file to write")
    models.set_defaults(run=run_verilog)
    cells.set_defaults(run=lambda args: cells.print_help() or 2)


def run_list(args: argparse.Namespace) -> int:
    from cells.default import load_library

    library = load_library(args.library)
    print(f"{library.name}: {len(library.cells)} cells, {library.voltage:g} V")
    print(f"{'cell':<36} {'area_um2':>9} {'transistors':>11}  function")
    for cell in sorted(library.cells.values(), key=lambda c: c.name):
        if cell.sequential:
            function = "(sequential)"
        elif cell.physical_only:
            function = "(physical only)"
        else:
            function = "; ".join(f"{out} = {cell.functions[out]}" for out in cell.outputs if out in cell.functions)
        transistors = "" if cell.transistors is None else str(cell.transistors)
        print(f"{cell.name:<36} {cell.area:>9.4f} {transistors:>11}  {function}")
    return 0


def run_verilog(args: argparse.Namespace) -> int:
    from cells.default import load_library
    from cells.verilog_models import format_cell_models

    library = load_library(args.library)
    write_text(args.output, format_cell_models(library))
    print(f"wrote behavioral models of {library.name} to {args.output}")
    return 0
