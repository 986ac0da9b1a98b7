"""The bit matrix a multiplier sums: weighted bits plus one integer constant.

Every bit has weight 2^column. A bit of negative weight, -x·2^k, is stored as
NOT(x) at column k plus the constant -2^k (Baugh-Wooley), so the matrix only
holds positive bits. The constant is added, modulo 2^width, as constant-1 bits
in the columns of its set bits. Bits at columns >= width are dropped: the sum is
exact modulo 2^width, which makes signed products, sign extension and the MAC
accumulator come out right without extension bits.

Each bit also carries a row, the step at which an array multiplier adds it;
tree reductions ignore rows.
"""

from __future__ import annotations

from characterize.netlist.ir import CONST0, CONST1

CONSTANT_ROW = -1


class BitMatrix:
    """Columns of nets to be summed modulo 2^width, plus an integer offset."""

    def __init__(self, width: int):
        self.width = width
        self.offset = 0
        self._bits: list[tuple[int, int, int]] = []  # (row, column, net)

    def add(self, net: int, column: int, row: int) -> None:
        """Add net·2^column."""
        if column >= self.width or net == CONST0:
            return
        if net == CONST1:
            self.offset += 1 << column
        else:
            self._bits.append((row, column, net))

    def add_negative(self, inverted: int, column: int, row: int) -> None:
        """Add -x·2^column given `inverted` = NOT x, as NOT x·2^column - 2^column."""
        if column >= self.width:
            return
        self.add(inverted, column, row)
        self.offset -= 1 << column

    def add_word(self, nets: list[int], row: int) -> None:
        """Add an unsigned word (nets LSB first) at column 0."""
        for column, net in enumerate(nets):
            self.add(net, column, row)

    def _all_bits(self) -> list[tuple[int, int, int]]:
        """Every bit with the offset's constant-1 bits, ordered by row (stable)."""
        offset = self.offset % (1 << self.width)
        constants = [(CONSTANT_ROW, k, CONST1) for k in range(self.width) if (offset >> k) & 1]
        return sorted(constants + self._bits, key=lambda bit: bit[0])

    def columns(self) -> list[list[int]]:
        """Nets per column (index = column), constant bits and early rows first."""
        columns: list[list[int]] = [[] for _ in range(self.width)]
        for _row, column, net in self._all_bits():
            columns[column].append(net)
        return columns

    def rows(self) -> list[list[list[int]]]:
        """The matrix row by row (ascending), each row as nets per column."""
        rows: dict[int, list[list[int]]] = {}
        for row, column, net in self._all_bits():
            rows.setdefault(row, [[] for _ in range(self.width)])[column].append(net)
        return list(rows.values())
