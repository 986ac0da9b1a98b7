"""Liberty boolean functions as truth tables.

A truth table over inputs (x0, ..., x{k-1}) is an integer whose bit i is the
output for the input combination i, where input j is bit j of i. Truth tables
make function matching, cofactoring and simulation plain integer arithmetic.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import permutations
from typing import TYPE_CHECKING

import numpy as np

from cells.errors import LibraryError

if TYPE_CHECKING:
    from sympy.logic import boolalg


def parse_function(text: str) -> boolalg.Boolean:
    """Parse a Liberty `function` string; raises LibraryError on bad syntax.

    liberty-parser and sympy are imported here, not at module level: they take
    about a second, and a library read from the cache never parses a function.
    """
    from lark.exceptions import LarkError
    from liberty.boolean_functions import parse_boolean_function

    try:
        return parse_boolean_function(text)
    except LarkError as exc:
        raise LibraryError(f"cannot parse boolean function {text!r}: {str(exc).splitlines()[0]}") from None


def function_variables(text: str) -> set[str]:
    """Names of the pins a Liberty function uses."""
    return {s.name for s in parse_function(text).free_symbols}


def truth_table(text: str, inputs: tuple[str, ...], definitions: dict[str, str] | None = None) -> int:
    """Truth table of a Liberty function over the ordered `inputs`.

    `definitions` gives functions (of `inputs`) for other names the text may use,
    e.g. output pins named in a `when` condition.
    """
    expr = parse_function(text)
    k = len(inputs)
    combos = np.arange(1 << k)
    env = {name: ((combos >> j) & 1).astype(bool) for j, name in enumerate(inputs)}
    for name, function in (definitions or {}).items():
        if name not in env:
            env[name] = np.broadcast_to(_evaluate(parse_function(function), env), combos.shape)
    bits = np.broadcast_to(_evaluate(expr, env), combos.shape)
    return int(sum(1 << int(i) for i in np.flatnonzero(bits)))


def _evaluate(expr, env: dict[str, np.ndarray]):
    import sympy
    from sympy.logic import boolalg

    if isinstance(expr, sympy.Symbol):
        return env[expr.name]
    if expr is sympy.true or isinstance(expr, boolalg.BooleanTrue):
        return np.True_
    if expr is sympy.false or isinstance(expr, boolalg.BooleanFalse):
        return np.False_
    args = [_evaluate(a, env) for a in expr.args]
    if isinstance(expr, sympy.Not):
        return ~args[0]
    if isinstance(expr, sympy.And):
        return np.logical_and.reduce(args)
    if isinstance(expr, sympy.Or):
        return np.logical_or.reduce(args)
    if isinstance(expr, sympy.Xor):
        return np.logical_xor.reduce(args)
    raise LibraryError(f"unsupported operator {type(expr).__name__} in boolean function")


def table_mask(k: int) -> int:
    """All-ones truth table of k inputs."""
    return (1 << (1 << k)) - 1


def variable_table(j: int, k: int) -> int:
    """Truth table of the projection x_j over k inputs."""
    return sum(1 << i for i in range(1 << k) if (i >> j) & 1)


@lru_cache(maxsize=None)
def permute(table: int, k: int, order: tuple[int, ...]) -> int:
    """Truth table g with g(y) = f(x) where x[order[j]] = y[j]: input j of g is input order[j] of f."""
    result = 0
    for i in range(1 << k):
        source = 0
        for j in range(k):
            if (i >> j) & 1:
                source |= 1 << order[j]
        if (table >> source) & 1:
            result |= 1 << i
    return result


def cofactor(table: int, k: int, j: int, value: int) -> int:
    """Truth table over k-1 inputs of f with input j fixed to `value`."""
    result = 0
    out = 0
    for i in range(1 << k):
        if ((i >> j) & 1) != value:
            continue
        if (table >> i) & 1:
            result |= 1 << out
        out += 1
    return result


def negate_input(table: int, k: int, j: int) -> int:
    """Truth table of f with input j inverted."""
    result = 0
    for i in range(1 << k):
        if (table >> (i ^ (1 << j))) & 1:
            result |= 1 << i
    return result


def merge_inputs(table: int, k: int, keep: int, drop: int) -> int:
    """Truth table over k-1 inputs of f with input `drop` tied to input `keep`."""
    result = 0
    for i in range(1 << k):
        if ((i >> keep) & 1) != ((i >> drop) & 1):
            continue
        if (table >> i) & 1:
            result |= 1 << _remove_bit(i, drop)
    return result


def _remove_bit(i: int, j: int) -> int:
    low = i & ((1 << j) - 1)
    return low | ((i >> (j + 1)) << j)


def depends_on(table: int, k: int, j: int) -> bool:
    """Whether f depends on input j."""
    return cofactor(table, k, j, 0) != cofactor(table, k, j, 1)


def all_orders(k: int):
    """Every ordering of k inputs."""
    return permutations(range(k))
