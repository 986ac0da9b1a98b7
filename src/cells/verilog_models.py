"""Behavioral Verilog models of library cells, for simulating our netlists with a Verilog simulator.

Each combinational cell becomes a module with its logic pins only (the
netlists we write never connect power pins) and one continuous assignment per
output, printed from the parsed Liberty function. Sequential and
physical-only cells have no model; a comment names each one skipped.
"""

from __future__ import annotations

import re

from cells.errors import LibraryError
from cells.functions import Expression, parse_function
from cells.model import Cell, Library

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def format_cell_models(library: Library, cells: list[str] | None = None) -> str:
    """Verilog modules for `cells` (default: every cell of `library`, in library order)."""
    names = list(library.cells) if cells is None else cells
    parts = []
    for name in names:
        cell = library.cell(name)
        if cell.combinational:
            parts.append(format_cell_model(cell))
        else:
            parts.append(f"// {verilog_name(name)}: no model (sequential or without a logic function)\n")
    return "\n".join(parts)


def format_cell_model(cell: Cell) -> str:
    """One Verilog module for a combinational cell."""
    ports = [verilog_name(p) for p in cell.inputs + cell.outputs]
    lines = [f"module {verilog_name(cell.name)} ({', '.join(ports)});"]
    lines += [f"  input {verilog_name(p)};" for p in cell.inputs]
    lines += [f"  output {verilog_name(p)};" for p in cell.outputs]
    for out in cell.outputs:
        try:
            expression = verilog_expression(parse_function(cell.functions[out]))
        except LibraryError as exc:
            raise LibraryError(f"cell {cell.name}: pin {out}: {exc}") from None
        lines.append(f"  assign {verilog_name(out)} = {expression};")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def verilog_name(name: str) -> str:
    """A Verilog identifier for `name`, escaped when it is not a simple identifier."""
    return name if _IDENTIFIER.fullmatch(name) else f"\\{name} "


def verilog_expression(expression: Expression) -> str:
    """A Verilog expression for a parsed Liberty function."""
    kind = expression[0]
    if kind == "name":
        return verilog_name(expression[1])
    if kind == "const":
        return f"1'b{expression[1]}"
    if kind == "not":
        return "~" + verilog_expression(expression[1])
    operator = {"and": " & ", "or": " | ", "xor": " ^ "}[kind]
    return "(" + operator.join(verilog_expression(e) for e in expression[1:]) + ")"
