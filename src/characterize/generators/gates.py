"""Place role gates with constant and repeated inputs folded away.

Generators feed constants into gates where a structure is regular (a Booth
encoder over a zero-extended weight, a prefix node over a one-bit column, a
constant bit in a full adder). Folding them here keeps such gates out of the
netlist: a gate whose inputs are partly constant or repeated becomes the
smallest role computing what is left, a plain net, or a constant.
"""

from __future__ import annotations

from functools import cache
from itertools import permutations

from cells.functions import cofactor, depends_on, permute, table_mask, variable_table
from characterize.netlist.builder import NetlistBuilder
from characterize.netlist.ir import CONST0, CONST1
from characterize.netlist.techmap import ROLE_INPUTS, ROLES, role_truth_table

Tables = tuple[int, ...]


@cache
def _role_tables() -> dict[str, Tables]:
    """Truth tables of every role over its inputs A, B, C, D (one table per output)."""
    tables = {}
    for role, functions in ROLES.items():
        inputs = tuple(ROLE_INPUTS[: _input_count(role)])
        tables[role] = tuple(role_truth_table(f, inputs) for f in functions)
    return tables


@cache
def _role_index() -> dict[tuple[int, Tables], tuple[str, tuple[int, ...]]]:
    """(input count, tables) -> (role, order): role input order[j] takes free input j."""
    index: dict[tuple[int, Tables], tuple[str, tuple[int, ...]]] = {}
    for role, tables in _role_tables().items():
        k = _input_count(role)
        for order in permutations(range(k)):
            index.setdefault((k, tuple(permute(t, k, order) for t in tables)), (role, order))
    return index


def _input_count(role: str) -> int:
    return len({c for f in ROLES[role] for c in f if c in ROLE_INPUTS})


class Gates:
    """Role gates over a NetlistBuilder, folding constant and repeated inputs.

    `gate(role, *nets)` returns what `NetlistBuilder.gate` returns (one net, or
    (sum, carry) for HA/FA), but any of those nets may be a constant or an
    existing net when the inputs make the gate trivial.
    """

    def __init__(self, builder: NetlistBuilder):
        self.builder = builder
        self.tables = _role_tables()
        self.index = _role_index()

    def gate(self, role: str, *inputs: int) -> int | tuple[int, ...]:
        """Place `role` on `inputs`, or what it reduces to when inputs are constant or repeated."""
        free = list(dict.fromkeys(n for n in inputs if n not in (CONST0, CONST1)))
        if len(free) == len(inputs):
            return self.builder.gate(role, *inputs)
        reduced = [self._reduce(t, inputs, free) for t in self.tables[role]]
        for j in reversed(range(len(free))):
            if not any(depends_on(t, len(free), j) for t in reduced):
                reduced = [cofactor(t, len(free), j, 0) for t in reduced]
                del free[j]
        outputs = self._place(tuple(reduced), free)
        if outputs is None:
            return self.builder.gate(role, *inputs)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def add_bits(self, bits: list[int], keep_carry: bool) -> tuple[int, int | None]:
        """Sum (and carry, unless dropped) of 2 or 3 bits of one column, by HA/FA.

        A carry that leaves the word is dropped, so only the XOR of the bits is built.
        """
        if keep_carry:
            total, carry = self.gate("FA" if len(bits) == 3 else "HA", *bits)
            return total, None if carry == CONST0 else carry
        total = self.gate("XOR2", bits[0], bits[1])
        for bit in bits[2:]:
            total = self.gate("XOR2", total, bit)
        return total, None

    @staticmethod
    def _reduce(table: int, inputs: tuple[int, ...], free: list[int]) -> int:
        """Truth table over `free` of a function of `inputs` (constants substituted)."""
        reduced = 0
        for y in range(1 << len(free)):
            x = 0
            for m, net in enumerate(inputs):
                bit = net if net in (CONST0, CONST1) else (y >> free.index(net)) & 1
                x |= bit << m
            reduced |= ((table >> x) & 1) << y
        return reduced

    def _place(self, tables: Tables, free: list[int]) -> list[int] | None:
        """Nets computing `tables` over `free`, or None when no role fits."""
        k = len(free)
        whole = self.index.get((k, tables))
        if whole is not None and len(tables) > 1:
            return list(self._role(whole, free))
        outputs = []
        for table in tables:
            net = self._trivial(table, free)
            if net is None:
                match = self.index.get((k, (table,)))
                if match is None:
                    return None
                net = self._role(match, free)[0]
            outputs.append(net)
        return outputs

    def _role(self, match: tuple[str, tuple[int, ...]], free: list[int]) -> tuple[int, ...]:
        role, order = match
        args = [CONST0] * len(order)
        for j, position in enumerate(order):
            args[position] = free[j]
        placed = self.builder.gate(role, *args)
        return placed if isinstance(placed, tuple) else (placed,)

    @staticmethod
    def _trivial(table: int, free: list[int]) -> int | None:
        """A constant or one of `free` when `table` is one, else None."""
        k = len(free)
        if table == 0:
            return CONST0
        if table == table_mask(k):
            return CONST1
        for j, net in enumerate(free):
            if table == variable_table(j, k):
                return net
        return None
