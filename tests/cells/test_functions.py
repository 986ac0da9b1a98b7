"""Liberty boolean functions and truth-table operations, checked by brute-force evaluation."""

from __future__ import annotations

import random
import subprocess
import sys
from itertools import product

import pytest

from cells import LibraryError
from cells.functions import (
    cofactor,
    depends_on,
    function_variables,
    merge_inputs,
    negate_input,
    permute,
    truth_table,
    variable_table,
)

# Liberty syntax: ! and ' negate, space * & AND, + | OR, ^ XOR; XOR binds tighter than AND, AND than OR.
EXPRESSIONS = [
    ("!A", ("A",), lambda a: not a),
    ("A'", ("A",), lambda a: not a),
    ("A B", ("A", "B"), lambda a, b: a and b),
    ("A*B + C", ("A", "B", "C"), lambda a, b, c: (a and b) or c),
    ("A | B & C", ("A", "B", "C"), lambda a, b, c: a or (b and c)),
    ("(A+B)'", ("A", "B"), lambda a, b: not (a or b)),
    ("A ^ B C", ("A", "B", "C"), lambda a, b, c: (a != b) and c),
    ("A ^ B ^ C", ("A", "B", "C"), lambda a, b, c: a ^ b ^ c),
    ("!(A1 & A2) | (B1' * B2)", ("A1", "A2", "B1", "B2"), lambda a1, a2, b1, b2: not (a1 and a2) or (not b1 and b2)),
    ("(S & B) | (A & !S)", ("A", "B", "S"), lambda a, b, s: b if s else a),
    ("1", ("A",), lambda a: True),
    ("0", (), lambda: False),
]


def brute_table(fn, k: int) -> int:
    """Truth table of a Python function of k booleans: bit i is fn(bit 0 of i, bit 1 of i, ...)."""
    return sum(1 << i for i in range(1 << k) if fn(*(bool((i >> j) & 1) for j in range(k))))


def bits(i: int, k: int) -> list[int]:
    return [(i >> j) & 1 for j in range(k)]


def index(bit_list: list[int]) -> int:
    return sum(b << j for j, b in enumerate(bit_list))


def value(table: int, bit_list: list[int]) -> int:
    return (table >> index(bit_list)) & 1


@pytest.mark.parametrize("text, inputs, fn", EXPRESSIONS)
def test_truth_table_matches_python_evaluation(text, inputs, fn):
    assert truth_table(text, inputs) == brute_table(fn, len(inputs))


def test_input_order_selects_the_bit_positions():
    assert truth_table("A & !B", ("A", "B")) == brute_table(lambda a, b: a and not b, 2)
    assert truth_table("A & !B", ("B", "A")) == brute_table(lambda b, a: a and not b, 2)


def test_function_variables_and_syntax_errors():
    assert function_variables("(A1 & A2) | !B1_N") == {"A1", "A2", "B1_N"}
    with pytest.raises(LibraryError, match="cannot parse"):
        function_variables("A & (B |")


RANDOM_TABLES = [(k, random.Random(k * 100 + n).getrandbits(1 << k)) for k in (1, 2, 3, 4) for n in range(4)]


@pytest.mark.parametrize("k, table", RANDOM_TABLES)
def test_permute(k, table):
    for order in [tuple(reversed(range(k))), tuple(range(1, k)) + (0,)]:
        g = permute(table, k, order)
        for y in product((0, 1), repeat=k):
            x = [0] * k
            for j in range(k):
                x[order[j]] = y[j]
            assert value(g, list(y)) == value(table, x)


@pytest.mark.parametrize("k, table", RANDOM_TABLES)
def test_cofactor_and_negate_input(k, table):
    for j in range(k):
        for fixed in (0, 1):
            g = cofactor(table, k, j, fixed)
            for rest in product((0, 1), repeat=k - 1):
                x = list(rest[:j]) + [fixed] + list(rest[j:])
                assert value(g, list(rest)) == value(table, x)
        h = negate_input(table, k, j)
        for x in product((0, 1), repeat=k):
            flipped = list(x)
            flipped[j] ^= 1
            assert value(h, list(x)) == value(table, flipped)


@pytest.mark.parametrize("k, table", [(k, t) for k, t in RANDOM_TABLES if k >= 2])
def test_merge_inputs(k, table):
    for keep in range(k):
        for drop in range(k):
            if keep == drop:
                continue
            g = merge_inputs(table, k, keep, drop)
            for rest in product((0, 1), repeat=k - 1):
                x = list(rest[:drop]) + [0] + list(rest[drop:])
                x[drop] = x[keep]
                assert value(g, list(rest)) == value(table, x)


@pytest.mark.parametrize("k, table", RANDOM_TABLES)
def test_depends_on(k, table):
    for j in range(k):
        differs = any(
            value(table, list(x)) != value(table, [b ^ (i == j) for i, b in enumerate(x)])
            for x in product((0, 1), repeat=k)
        )
        assert depends_on(table, k, j) == differs


def test_depends_on_sees_an_unused_input():
    table = brute_table(lambda a, b, c: a and c, 3)
    assert [depends_on(table, 3, j) for j in range(3)] == [True, False, True]
    assert variable_table(1, 3) == brute_table(lambda a, b, c: b, 3)



def _functions(library) -> list[tuple[str, tuple[str, ...], dict[str, str]]]:
    """Every distinct function and `when` condition of the library's combinational cells, with the cell's pins."""
    texts = {}
    for cell in library.cells.values():
        if not cell.combinational:
            continue
        outputs = {out: cell.functions[out] for out in cell.outputs if out in cell.functions}
        conditions = [a.when for a in cell.power if a.when] + [s.when for s in cell.leakage_states if s.when]
        for text in {*outputs.values(), *conditions}:
            texts[text, cell.inputs, tuple(outputs.items())] = (text, cell.inputs, outputs)
    return list(texts.values())


def test_truth_tables_equal_liberty_parsers_reading_of_every_library_function(library):
    """Our parser against liberty-parser's (sympy) on every function and condition of the default library."""
    import sympy
    from liberty.boolean_functions import parse_boolean_function

    checked = 0
    for text, inputs, outputs in _functions(library):
        symbols = {name: sympy.Symbol(name) for name in inputs}
        expression = parse_boolean_function(text).xreplace(
            {sympy.Symbol(out): parse_boolean_function(f) for out, f in outputs.items() if out not in inputs})
        evaluate = sympy.lambdify([symbols[n] for n in inputs], expression)
        reference = sum(1 << i for i in range(1 << len(inputs)) if evaluate(*((i >> j) & 1 for j in range(len(inputs)))))
        assert truth_table(text, inputs, outputs) == reference, text
        assert function_variables(text) == {s.name for s in parse_boolean_function(text).free_symbols}
        checked += 1
    assert checked > 100


@pytest.mark.parametrize("text", ["A &", "(A | B", "A + + B", "A # B", ")", ""])
def test_malformed_functions_are_one_line_errors(text):
    with pytest.raises(LibraryError, match=r"cannot parse boolean function"):
        truth_table(text, ("A", "B"))


def test_an_unknown_name_is_named():
    with pytest.raises(LibraryError, match=r"names 'C', which is no input pin"):
        truth_table("A & C", ("A", "B"))


def test_truth_tables_need_no_symbolic_algebra():
    code = "import sys; from cells.functions import truth_table; truth_table(\"(A B + C)'\", ('A', 'B', 'C'))\n" \
           "print('sympy' in sys.modules, 'liberty' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "False"]
