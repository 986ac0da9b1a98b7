"""Reduce a bit matrix to two rows with half and full adders.

Three schemes with the delay profiles of the classic multipliers: a carry-save
array (one adder level per matrix row, delay linear in the operand width), a
Wallace tree and a Dadda tree (logarithmic). Carries out of the top column are
dropped, since the sum is taken modulo 2^width.
"""

from __future__ import annotations

from characterize.generators.bitmatrix import BitMatrix
from characterize.generators.gates import Gates
from characterize.netlist.ir import CONST0

Columns = list[list[int]]


def _place(column: list[int], net: int | None) -> None:
    if net is not None and net != CONST0:
        column.append(net)


def carry_save_array(gates: Gates, matrix: BitMatrix) -> Columns:
    """Add the matrix row after row into a carry-save pair (sum and carry bits per column).

    In every column the running bits and the new row's bits go through a chain of
    adders, as in an array multiplier; a column is compressed only as far as it
    must be to hold at most two bits once the carries from its right arrive.
    """
    width = matrix.width
    state: Columns = [[] for _ in range(width)]
    for row in matrix.rows():
        state = _add_row(gates, state, row)
    while max(len(column) for column in state) > 2:
        state = _add_row(gates, state, [[] for _ in range(width)])
    return state


def _add_row(gates: Gates, state: Columns, row: Columns) -> Columns:
    width = len(state)
    result: Columns = [[] for _ in range(width)]
    for k in range(width):
        bits = state[k] + row[k]
        while len(bits) >= 2 and len(bits) + len(result[k]) > 2:
            take = min(3, len(bits))
            total, carry = gates.add_bits(bits[:take], k + 1 < width)
            bits = [total] + bits[take:] if total != CONST0 else bits[take:]
            if carry is not None:
                _place(result[k + 1], carry)
        result[k] = bits + result[k]
    return result


def wallace_tree(gates: Gates, matrix: BitMatrix) -> Columns:
    """Wallace's reduction: every stage, in every column, each 3 bits -> FA, a remaining pair -> HA."""
    columns = matrix.columns()
    width = len(columns)
    while max(len(column) for column in columns) > 2:
        result: Columns = [[] for _ in range(width)]
        for k, column in enumerate(columns):
            groups = [column[i : i + 3] for i in range(0, len(column), 3)]
            for group in groups:
                if len(group) == 1:
                    result[k].append(group[0])
                    continue
                total, carry = gates.add_bits(group, k + 1 < width)
                _place(result[k], total)
                if carry is not None:
                    _place(result[k + 1], carry)
        columns = result
    return columns


def dadda_heights(height: int) -> list[int]:
    """Dadda's target heights 2, 3, 4, 6, 9, 13, ... below `height`, largest first."""
    heights = [2]
    while heights[-1] * 3 // 2 < height:
        heights.append(heights[-1] * 3 // 2)
    return heights[::-1]


def dadda_tree(gates: Gates, matrix: BitMatrix) -> Columns:
    """Dadda's reduction: each stage brings every column down to the next target height
    with as few adders as possible (an FA removes two bits of height, an HA one)."""
    columns = matrix.columns()
    width = len(columns)
    while (height := max(len(column) for column in columns)) > 2:
        target = dadda_heights(height)[0]
        result: Columns = [[] for _ in range(width)]
        for k, column in enumerate(columns):
            bits = list(column)
            outputs: list[int] = []
            while len(bits) >= 2 and len(bits) + len(outputs) + len(result[k]) > target:
                excess = len(bits) + len(outputs) + len(result[k]) - target
                take = 3 if excess >= 2 and len(bits) >= 3 else 2
                total, carry = gates.add_bits(bits[:take], k + 1 < width)
                bits = bits[take:]
                _place(outputs, total)
                if carry is not None:
                    _place(result[k + 1], carry)
            result[k] = bits + outputs + result[k]
        columns = result
    return columns
