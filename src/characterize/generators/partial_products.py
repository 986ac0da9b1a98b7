"""Partial products of a·w into a bit matrix: AND (Baugh-Wooley) and radix-4 Booth.

The weight w is the operand that Booth encodes, so embedding a constant weight
turns the encoders into constants and leaves only the selection logic.
"""

from __future__ import annotations

from characterize.generators.bitmatrix import BitMatrix
from characterize.generators.gates import Gates
from characterize.netlist.ir import CONST0


def and_partial_products(gates: Gates, matrix: BitMatrix, a: list[int], w: list[int], signed: bool) -> None:
    """Add a_i·w_j at column i+j in row j; signed operands follow Baugh-Wooley.

    For signed n-bit operands the bits a_{n-1}·w_j and a_i·w_{n-1} (not both
    sign bits) have negative weight and enter as NAND(a, w) with a constant.
    """
    top = len(a) - 1
    for j, wj in enumerate(w):
        for i, ai in enumerate(a):
            if i + j >= matrix.width:
                continue
            negative = signed and (i == top) != (j == len(w) - 1)
            if negative:
                matrix.add_negative(gates.gate("NAND2", ai, wj), i + j, j)
            else:
                matrix.add(gates.gate("AND2", ai, wj), i + j, j)


def booth_partial_products(gates: Gates, matrix: BitMatrix, a: list[int], w: list[int], signed: bool) -> None:
    """Add the radix-4 Booth partial products d_j·a·4^j, digits d_j in {-2..2} from w.

    Unsigned operands are zero-extended by one bit and treated as signed. Digit j
    looks at (w_{2j+1}, w_{2j}, w_{2j-1}) with w_{-1} = 0. Row j holds the bits
    b_i = ((one & a_i) | (two & a_{i-1})) ^ neg, i = 0..len(a), whose top bit has
    negative weight; the +neg that completes the two's complement negation goes to
    row j+1 at column 2j, where that row has no bit of its own.
    """
    if not signed:
        a, w = a + [CONST0], w + [CONST0]
    sign_a, sign_w = a[-1], w[-1]
    for j in range((len(w) + 1) // 2):
        lsb = 2 * j
        if lsb >= matrix.width:
            break
        w_low = w[lsb - 1] if j > 0 else CONST0
        w_mid = w[lsb]
        w_high = w[lsb + 1] if lsb + 1 < len(w) else sign_w
        one = gates.gate("XOR2", w_mid, w_low)
        two = gates.gate("NOR2", gates.gate("XNOR2", w_high, w_mid), one)
        neg = w_high
        for i in range(len(a) + 1):
            if lsb + i >= matrix.width:
                break
            a_i = a[i] if i < len(a) else sign_a
            a_prev = a[i - 1] if i > 0 else CONST0
            if neg == CONST0 and two == CONST0 and i < len(a):  # a digit of 0 or 1: an AND row
                matrix.add(gates.gate("AND2", one, a_i), lsb + i, j)
                continue
            not_selected = gates.gate("AOI22", one, a_i, two, a_prev)
            if i == len(a):
                matrix.add_negative(gates.gate("XOR2", not_selected, neg), lsb + i, j)
            else:
                matrix.add(gates.gate("XNOR2", not_selected, neg), lsb + i, j)
        matrix.add(neg, lsb, j + 1)
