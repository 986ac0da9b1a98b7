"""Static-CMOS transistor counts for cells whose Liberty file does not give them.

A cell is matched by function, under any order of its inputs, against a small
table of textbook gates: the complementary pull-up/pull-down network of each
gate plus the inverters its function needs (an AND2 is a NAND2 and an
inverter: 6). Drive strength is not modelled: every size of a gate gets the
same count. Functions outside the table (inverted-input variants, 4-input
AND/OR, complex gates) have no estimate.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from cells.functions import all_orders, permute, truth_table

if TYPE_CHECKING:
    from cells.model import Cell

TIE_PER_OUTPUT = 2

# name: (inputs, output functions over the inputs in Liberty syntax, transistors)
TEXTBOOK_GATES: dict[str, tuple[tuple[str, ...], tuple[str, ...], int]] = {
    "INV": (("A",), ("!A",), 2),
    "BUF": (("A",), ("A",), 4),
    "NAND2": (("A", "B"), ("!(A&B)",), 4),
    "NAND3": (("A", "B", "C"), ("!(A&B&C)",), 6),
    "NAND4": (("A", "B", "C", "D"), ("!(A&B&C&D)",), 8),
    "NOR2": (("A", "B"), ("!(A|B)",), 4),
    "NOR3": (("A", "B", "C"), ("!(A|B|C)",), 6),
    "NOR4": (("A", "B", "C", "D"), ("!(A|B|C|D)",), 8),
    "AND2": (("A", "B"), ("A&B",), 6),
    "AND3": (("A", "B", "C"), ("A&B&C",), 8),
    "OR2": (("A", "B"), ("A|B",), 6),
    "OR3": (("A", "B", "C"), ("A|B|C",), 8),
    "XOR2": (("A", "B"), ("A^B",), 12),
    "XNOR2": (("A", "B"), ("!(A^B)",), 12),
    "AOI21": (("A1", "A2", "B"), ("!((A1&A2)|B)",), 6),
    "OAI21": (("A1", "A2", "B"), ("!((A1|A2)&B)",), 6),
    "AOI22": (("A1", "A2", "B1", "B2"), ("!((A1&A2)|(B1&B2))",), 8),
    "OAI22": (("A1", "A2", "B1", "B2"), ("!((A1|A2)&(B1|B2))",), 8),
    "AO21": (("A1", "A2", "B"), ("(A1&A2)|B",), 8),
    "OA21": (("A1", "A2", "B"), ("(A1|A2)&B",), 8),
    "MUX2": (("A0", "A1", "S"), ("(A0&!S)|(A1&S)",), 12),
    "MAJ3": (("A", "B", "C"), ("(A&B)|(A&C)|(B&C)",), 12),
    "HA": (("A", "B"), ("A^B", "A&B"), 18),
    "FA": (("A", "B", "CI"), ("A^B^CI", "(A&B)|(A&CI)|(B&CI)"), 28),
}


def transistor_count(cell: Cell) -> int | None:
    """Estimated static-CMOS transistor count of a combinational cell, or None when unknown."""
    if not cell.combinational:
        return None
    k = len(cell.inputs)
    tables = cell.truth_tables
    if k == 0:
        return TIE_PER_OUTPUT * len(tables)
    return _known_functions().get((k, tuple(sorted(tables))))


@lru_cache(maxsize=None)
def _known_functions() -> dict[tuple[int, tuple[int, ...]], int]:
    """(input count, sorted output truth tables) of every input order of each textbook gate -> count."""
    known: dict[tuple[int, tuple[int, ...]], int] = {}
    for inputs, functions, transistors in TEXTBOOK_GATES.values():
        k = len(inputs)
        tables = tuple(truth_table(f, inputs) for f in functions)
        for order in all_orders(k):
            known[(k, tuple(sorted(permute(t, k, order) for t in tables)))] = transistors
    return known
