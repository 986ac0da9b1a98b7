"""Find the cheapest library cell for a boolean function, by truth table.

Generators ask for logical functions by role (NAND2, FA, ...); the embedding
pass asks for whatever function a gate reduces to. Both are answered from one
index of the library's combinational cells under every pin permutation, so
any Liberty library with the needed functions works, whatever its cell names.
Cells whose names match a dont-use pattern are left out of the index: by default
physical-only cells and the cells a full library reserves for other jobs (power
isolation, clock trees, delay lines, probes), which compute ordinary functions
(an input-isolation cell is an OR2) and would otherwise win on area.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import permutations

from cells.errors import LibraryError
from cells.functions import permute, table_mask, variable_table
from cells.model import Library

MAX_MATCH_INPUTS = 4

DEFAULT_DONT_USE: tuple[str, ...] = (
    "*fill*", "*tap*", "*decap*", "*diode*", "*antenna*",  # physical only
    "*lpflow_*",  # low-power flow: isolation, level shifters, keep-alive buffers
    "*clkinv*", "*clkbuf*", "*clkdlybuf*",  # clock tree
    "*dlygate*", "*dlymetal*",  # delay lines
    "*probe*",
)
"""Shell-style patterns (fnmatch, case-insensitive) of cell names the matcher never picks by default."""

# Reference functions of the roles the generators use, over inputs A, B, C, D in that order.
ROLES: dict[str, tuple[str, ...]] = {
    "INV": ("!A",),
    "BUF": ("A",),
    "NAND2": ("!(A&B)",),
    "NAND3": ("!(A&B&C)",),
    "NOR2": ("!(A|B)",),
    "NOR3": ("!(A|B|C)",),
    "AND2": ("A&B",),
    "AND3": ("A&B&C",),
    "OR2": ("A|B",),
    "OR3": ("A|B|C",),
    "XOR2": ("A^B",),
    "XNOR2": ("!(A^B)",),
    "AOI21": ("!((A&B)|C)",),
    "OAI21": ("!((A|B)&C)",),
    "AOI22": ("!((A&B)|(C&D))",),
    "MUX2": ("(A&!C)|(B&C)",),
    "MAJ3": ("(A&B)|(A&C)|(B&C)",),
    "HA": ("A^B", "A&B"),
    "FA": ("A^B^C", "(A&B)|(A&C)|(B&C)"),
}
ROLE_INPUTS = "ABCD"


def role_truth_table(function: str, inputs: Sequence[str]) -> int:
    """Truth table of a role's reference function over the ordered `inputs` (see cells.functions).

    ROLES are written with `!`, `&`, `^`, `|` and parentheses only, grouped so
    that Python's operator precedence reads them as Liberty does; evaluating
    them on integer truth tables spares every process the Liberty function
    parser (and its second-long sympy import).
    """
    k = len(inputs)
    names = {name: variable_table(j, k) for j, name in enumerate(inputs)}
    return eval(function.replace("!", "~"), {"__builtins__": {}}, names) & table_mask(k)


@dataclass(frozen=True)
class Match:
    """A cell implementing a function: `sources[m]` is the logical input on cell input pin m,
    `outputs[j]` the cell output pin index that gives logical output j."""

    cell: str
    sources: tuple[int, ...]
    outputs: tuple[int, ...]
    area: float


class CellMatcher:
    """Index of a library's combinational cells by (inputs, output truth tables).

    `dont_use` holds the name patterns of cells never to pick (default `DEFAULT_DONT_USE`).
    """

    def __init__(self, library: Library, dont_use: Iterable[str] = DEFAULT_DONT_USE):
        self.library = library
        self.dont_use = tuple(dont_use)
        self._index: dict[tuple[int, tuple[int, ...]], Match] = {}
        self._all: dict[tuple[int, tuple[int, ...]], dict[str, Match]] = {}  # every cell per key, first way found
        self._roles: dict[str, Match] = {}
        for cell in library.cells.values():
            if not cell.combinational or len(cell.inputs) > MAX_MATCH_INPUTS or len(cell.outputs) > 2:
                continue
            if self.excluded(cell.name):
                continue
            k = len(cell.inputs)
            tables = cell.truth_tables
            for sigma in permutations(range(k)):
                # Logical input j drives cell pin sigma[j].
                permuted = tuple(permute(t, k, sigma) for t in tables)
                sources = tuple(sigma.index(m) for m in range(k))
                for out_order in permutations(range(len(tables))):
                    key = (k, tuple(permuted[o] for o in out_order))
                    self._offer(key, Match(cell.name, sources, out_order, cell.area))
                for o in range(len(tables)):  # each output of a multi-output cell alone
                    self._offer((k, (permuted[o],)), Match(cell.name, sources, (o,), cell.area))

    def _offer(self, key, match: Match) -> None:
        self._all.setdefault(key, {}).setdefault(match.cell, match)
        best = self._index.get(key)
        if best is None or (match.area, match.cell) < (best.area, best.cell):
            self._index[key] = match

    def excluded(self, name: str) -> bool:
        """Whether a dont-use pattern matches the cell name."""
        return any(fnmatchcase(name.lower(), pattern.lower()) for pattern in self.dont_use)

    def find(self, k: int, tables: tuple[int, ...]) -> Match | None:
        """The smallest cell computing `tables` (one per output) of k ordered inputs, or None."""
        return self._index.get((k, tuple(tables)))

    def sizes(self, cell_name: str) -> tuple[Match, ...]:
        """Every usable cell computing what `cell_name` computes, its inputs and outputs in that cell's pin order,
        by area: the drive strengths of one function (sky130's nand2_1, nand2_2, ...). The cell itself is among
        them unless a dont-use pattern excludes it; empty for a cell the index leaves out (sequential, over 4
        inputs or 2 outputs) and for tie cells."""
        cell = self.library.cells[cell_name]
        if not cell.combinational or not cell.inputs or len(cell.inputs) > MAX_MATCH_INPUTS or len(cell.outputs) > 2:
            return ()
        matches = self._all.get((len(cell.inputs), tuple(cell.truth_tables)), {}).values()
        fits = (m for m in matches if len(self.library.cells[m.cell].outputs) == len(cell.outputs))
        return tuple(sorted(fits, key=lambda m: (m.area, m.cell)))

    def role(self, name: str) -> Match:
        """The smallest cell for a generator role; LibraryError names what the library lacks."""
        if name in self._roles:
            return self._roles[name]
        functions = ROLES[name]
        inputs = tuple(sorted({c for f in functions for c in f if c in ROLE_INPUTS}))
        tables = tuple(role_truth_table(f, inputs) for f in functions)
        match = self.find(len(inputs), tables)
        if match is None:
            described = ", ".join(functions)
            excluded = self._excluded_matches(len(inputs), tables)
            advice = (f"the dont-use patterns exclude {', '.join(excluded)}" if excluded
                      else "choose a library with that function")
            raise LibraryError(
                f"library {self.library.source or self.library.name} has no cell for {name} ({described}); {advice}"
            )
        self._roles[name] = match
        return match

    def _excluded_matches(self, k: int, tables: tuple[int, ...]) -> list[str]:
        """Names of excluded cells that would compute `tables` (for an error message)."""
        found = []
        for cell in self.library.cells.values():
            if not self.excluded(cell.name) or not cell.combinational or len(cell.inputs) != k:
                continue
            for sigma in permutations(range(k)):
                permuted = {permute(t, k, sigma) for t in cell.truth_tables}
                if set(tables) <= permuted:
                    found.append(cell.name)
                    break
        return sorted(found)

    def tie(self, value: int) -> tuple[str, int] | None:
        """A cell with no inputs whose output pin gives the constant `value`: (cell, output index)."""
        best = None
        for cell in self.library.cells.values():
            if cell.inputs or not cell.combinational or self.excluded(cell.name):
                continue
            for o, t in enumerate(cell.truth_tables):
                if t == value and (best is None or cell.area < self.library.cells[best[0]].area):
                    best = (cell.name, o)
        return best
