"""Final adders: sum two rows (at most two bits per column) into one word.

Both adders keep a column's single bit as it is below the first column with two
bits, and drop the carry out of the top column (the sum is modulo 2^width).
"""

from __future__ import annotations

from characterize.generators.gates import Gates
from characterize.netlist.ir import CONST0

Columns = list[list[int]]


def ripple_adder(gates: Gates, columns: Columns) -> list[int]:
    """Ripple-carry adder: an HA at the first column with two bits, then a chain of FAs."""
    width = len(columns)
    out: list[int] = []
    carry: int | None = None
    for k, column in enumerate(columns):
        bits = column + ([carry] if carry is not None else [])
        if len(bits) <= 1:
            out.append(bits[0] if bits else CONST0)
            carry = None
        else:
            total, carry = gates.add_bits(bits, k + 1 < width)
            out.append(total)
    return out


def kogge_stone_adder(gates: Gates, columns: Columns) -> list[int]:
    """Parallel-prefix carry-lookahead adder (Kogge-Stone), sum = p ^ carry.

    Generate/propagate pairs combine as G = G_hi | P_hi·G_lo, P = P_hi·P_lo in
    log2(width) levels. Levels alternate AOI21/NAND2 and OAI21/NOR2, so every
    signal carries a polarity and an inverter is placed only where a finished
    group of the other polarity is reused.
    """
    width = len(columns)
    start = next((k for k, column in enumerate(columns) if len(column) == 2), width)
    out = [column[0] if column else CONST0 for column in columns[:start]]
    if start == width:
        return out
    propagate: list[int] = [CONST0] * width
    group: dict[int, tuple[int, int | None, bool]] = {}  # column -> (G, P or None when finished, inverted)
    for k in range(start, width):
        column = columns[k]
        if len(column) == 2 and k < width - 1:
            propagate[k], generate = gates.gate("HA", *column)
        elif len(column) == 2:
            propagate[k], generate = gates.gate("XOR2", *column), CONST0
        else:
            propagate[k], generate = (column[0] if column else CONST0), CONST0
        group[k] = (generate, propagate[k] if k > start else None, False)
    inverse: dict[int, int] = {}

    def invert(net: int) -> int:
        if net not in inverse:
            inverse[net] = gates.gate("INV", net)
        return inverse[net]

    distance = 1
    while start + distance < width - 1:
        level = dict(group)
        for i in range(start + distance, width - 1):
            g_hi, p_hi, inverted = group[i]
            g_lo, p_lo, lo_inverted = group[i - distance]
            if lo_inverted != inverted:
                g_lo = invert(g_lo)
            finished = i - 2 * distance + 1 <= start
            if inverted:
                g = gates.gate("OAI21", p_hi, g_lo, g_hi)
                p = None if finished else gates.gate("NOR2", p_hi, p_lo)
            else:
                g = gates.gate("AOI21", p_hi, g_lo, g_hi)
                p = None if finished else gates.gate("NAND2", p_hi, p_lo)
            level[i] = (g, p, not inverted)
        group = level
        distance *= 2
    out.append(propagate[start])
    for k in range(start + 1, width):
        carry, _p, inverted = group[k - 1]
        out.append(gates.gate("XNOR2" if inverted else "XOR2", propagate[k], carry))
    return out
