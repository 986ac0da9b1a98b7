"""Liberty boolean functions as truth tables.

A truth table over inputs (x0, ..., x{k-1}) is an integer whose bit i is the
output for the input combination i, where input j is bit j of i. Truth tables
make function matching, cofactoring and simulation plain integer arithmetic.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from itertools import permutations

import numpy as np

from cells.errors import LibraryError

Expression = tuple
"""A parsed function: ("name", pin), ("const", 0 | 1), ("not", e), or ("and" | "or" | "xor", e1, e2, ...)."""

_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|([01])|([!'^*&+|()]))")


@cache
def parse_function(text: str) -> Expression:
    """Parse a Liberty `function` string; raises LibraryError on bad syntax.

    Liberty syntax: `!` (before) and `'` (after) negate, `^` is XOR, `*`, `&` or
    a space is AND, `+` or `|` is OR, `0` and `1` are constants; XOR binds
    tighter than AND, AND than OR (as liberty-parser reads them). A small
    recursive-descent parser: evaluating a function needs no symbolic algebra.
    """
    tokens = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None:
            raise LibraryError(f"cannot parse boolean function {text!r}: unexpected {text[position:].strip()[0]!r}")
        name, constant, operator = match.groups()
        tokens.append(("name", name) if name else ("const", int(constant)) if constant else (operator, None))
        position = match.end()
    parser = _Parser(text, tokens)
    expression = parser.disjunction()
    if parser.index < len(tokens):
        parser.fail(f"unexpected {tokens[parser.index][1] or tokens[parser.index][0]!r}")
    return expression


class _Parser:
    """or := and (("+" | "|") and)*; and := xor (("*" | "&")? xor)*; xor := atom ("^" atom)*;
    atom := ("0" | "1" | NAME | "!" atom | "(" or ")") "'"*."""

    def __init__(self, text: str, tokens: list[tuple[str, object]]) -> None:
        self.text, self.tokens, self.index = text, tokens, 0

    def fail(self, reason: str):
        raise LibraryError(f"cannot parse boolean function {self.text!r}: {reason}")

    def peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def disjunction(self) -> Expression:
        terms = [self.conjunction()]
        while self.peek() in ("+", "|"):
            self.index += 1
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else ("or", *terms)

    def conjunction(self) -> Expression:
        factors = [self.exclusive()]
        while self.peek() in ("*", "&", "name", "const", "!", "("):
            if self.peek() in ("*", "&"):
                self.index += 1
            factors.append(self.exclusive())
        return factors[0] if len(factors) == 1 else ("and", *factors)

    def exclusive(self) -> Expression:
        operands = [self.atom()]
        while self.peek() == "^":
            self.index += 1
            operands.append(self.atom())
        return operands[0] if len(operands) == 1 else ("xor", *operands)

    def atom(self) -> Expression:
        kind = self.peek()
        if kind is None:
            self.fail("unexpected end")
        value = self.tokens[self.index][1]
        self.index += 1
        if kind in ("name", "const"):
            expression = (kind, value)
        elif kind == "!":
            expression = ("not", self.atom())
        elif kind == "(":
            expression = self.disjunction()
            if self.peek() != ")":
                self.fail("missing ')'")
            self.index += 1
        else:
            self.fail(f"unexpected {kind!r}")
        while self.peek() == "'":
            self.index += 1
            expression = ("not", expression)
        return expression


def function_variables(text: str) -> set[str]:
    """Names of the pins a Liberty function uses."""
    return _variables(parse_function(text))


def _variables(expression: Expression) -> set[str]:
    if expression[0] == "name":
        return {expression[1]}
    if expression[0] == "const":
        return set()
    return set().union(*(_variables(e) for e in expression[1:]))


def truth_table(text: str, inputs: tuple[str, ...], definitions: dict[str, str] | None = None) -> int:
    """Truth table of a Liberty function over the ordered `inputs`.

    `definitions` gives functions (of `inputs`) for other names the text may use,
    e.g. output pins named in a `when` condition.
    """
    expression = parse_function(text)
    k = len(inputs)
    combos = np.arange(1 << k)
    env = {name: ((combos >> j) & 1).astype(bool) for j, name in enumerate(inputs)}
    for name, function in (definitions or {}).items():
        if name not in env:
            env[name] = np.broadcast_to(_evaluate(parse_function(function), env, function), combos.shape)
    bits = np.broadcast_to(_evaluate(expression, env, text), combos.shape)
    return int(sum(1 << int(i) for i in np.flatnonzero(bits)))


def _evaluate(expression: Expression, env: dict[str, np.ndarray], text: str):
    kind = expression[0]
    if kind == "name":
        if expression[1] not in env:
            raise LibraryError(f"boolean function {text!r} names {expression[1]!r}, which is no input pin")
        return env[expression[1]]
    if kind == "const":
        return np.bool_(expression[1])
    args = [_evaluate(e, env, text) for e in expression[1:]]
    if kind == "not":
        return ~args[0]
    return {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}[kind].reduce(args)


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
