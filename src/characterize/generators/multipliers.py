"""Multiplier and MAC netlists: partial products, reduction to two rows, final adder."""

from __future__ import annotations

from collections.abc import Callable

from cells.default import load_library
from cells.model import Library
from characterize.choices import ADDERS, ARCHITECTURES
from characterize.errors import GeneratorError
from characterize.generators.adders import kogge_stone_adder, ripple_adder
from characterize.generators.bitmatrix import CONSTANT_ROW, BitMatrix
from characterize.generators.gates import Gates
from characterize.generators.partial_products import and_partial_products, booth_partial_products
from characterize.generators.reduction import carry_save_array, dadda_tree, wallace_tree
from characterize.netlist.builder import NetlistBuilder
from characterize.netlist.ir import CONST0, CONST1, Netlist
from characterize.netlist.techmap import CellMatcher

MIN_BITS, MAX_BITS = 2, 16
MAX_MAC_BITS = 64


def operand_range(bits: int, signed: bool) -> range:
    """Every value of a `bits`-wide operand: -2^(B-1) .. 2^(B-1)-1 in two's complement, else 0 .. 2^B-1."""
    if signed:
        return range(-(1 << (bits - 1)), 1 << (bits - 1))
    return range(1 << bits)

_REDUCTIONS: dict[str, Callable[[Gates, BitMatrix], list[list[int]]]] = {
    "array": carry_save_array,
    "booth": dadda_tree,
    "wallace": wallace_tree,
    "dadda": dadda_tree,
}
_ADDERS: dict[str, Callable[[Gates, list[list[int]]], list[int]]] = {
    "ripple": ripple_adder,
    "cla": kogge_stone_adder,
}


def multiplier(
    bits: int,
    signed: bool = True,
    arch: str = "array",
    adder: str = "ripple",
    library: Library | None = None,
    mac_bits: int | None = None,
    weight: int | None = None,
    matcher: CellMatcher | None = None,
) -> Netlist:
    """A `bits` × `bits` multiplier y = a·w, or a MAC y = (acc + a·w) mod 2^mac_bits.

    Ports: inputs a (activation) and w (weight), both `bits` wide, and acc
    (`mac_bits` wide, MAC only); output y, 2·`bits` wide (two's complement when
    `signed`) or `mac_bits` wide. `arch` picks partial products and reduction:
    "array" (Baugh-Wooley AND array, carry-save rows), "booth" (radix-4 Booth
    encoding of w, Dadda tree), "wallace" or "dadda" (AND partial products, tree);
    `adder` the final adder: "ripple" or "cla" (Kogge-Stone). `library` defaults
    to the embedded sky130 subset. With `weight` given, w is that constant from
    the start (no w port): constant partial-product bits fold into the bit
    matrix's offset before any adder is built. `matcher` picks the cells (default:
    the library's smallest outside the default dont-use patterns).
    """
    _validate(bits, signed, arch, adder, mac_bits)
    library = library if library is not None else load_library()
    width = 2 * bits if mac_bits is None else mac_bits
    name = _name(bits, signed, arch, adder, mac_bits)
    if weight is not None:
        name += f"_w{weight}".replace("-", "m")
    builder = NetlistBuilder(name, library, matcher)
    gates = Gates(builder)
    a = builder.input("a", bits)
    w = builder.input("w", bits) if weight is None else _constant_bits(weight, bits, signed)
    matrix = BitMatrix(width)
    if mac_bits is not None:
        matrix.add_word(builder.input("acc", mac_bits), CONSTANT_ROW)
    partial_products = booth_partial_products if arch == "booth" else and_partial_products
    partial_products(gates, matrix, a, w, signed)
    rows = _REDUCTIONS[arch](gates, matrix)
    builder.output("y", _ADDERS[adder](gates, rows))
    return builder.build()


def _constant_bits(weight: int, bits: int, signed: bool) -> list[int]:
    values = operand_range(bits, signed)
    low, high = values[0], values[-1]
    if not _is_int(weight) or not low <= weight <= high:
        raise GeneratorError(f"weight must be an integer from {low} to {high}, got {weight!r}")
    return [CONST1 if (weight >> i) & 1 else CONST0 for i in range(bits)]


def _name(bits: int, signed: bool, arch: str, adder: str, mac_bits: int | None) -> str:
    kind = "mul" if mac_bits is None else "mac"
    accumulator = "" if mac_bits is None else str(mac_bits)
    return f"{kind}{bits}{'s' if signed else 'u'}{accumulator}_{arch}_{adder}"


def _validate(bits: int, signed: bool, arch: str, adder: str, mac_bits: int | None) -> None:
    if not _is_int(bits) or not MIN_BITS <= bits <= MAX_BITS:
        raise GeneratorError(f"bits must be an integer from {MIN_BITS} to {MAX_BITS}, got {bits!r}")
    if not isinstance(signed, bool):
        raise GeneratorError(f"signed must be True or False, got {signed!r}")
    if arch not in ARCHITECTURES:
        raise GeneratorError(f"arch must be one of {', '.join(ARCHITECTURES)}, got {arch!r}")
    if adder not in ADDERS:
        raise GeneratorError(f"adder must be one of {', '.join(ADDERS)}, got {adder!r}")
    if mac_bits is not None and (not _is_int(mac_bits) or not 2 * bits <= mac_bits <= MAX_MAC_BITS):
        raise GeneratorError(
            f"mac_bits must be an integer from 2*bits = {2 * bits} to {MAX_MAC_BITS} (or None for a plain "
            f"multiplier), got {mac_bits!r}"
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
