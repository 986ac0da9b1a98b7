"""The declarative table checks: defaults, types, ranges, conditional keys, close-match hints, key paths."""

from __future__ import annotations

import pytest

from dse.errors import ConfigError
from dse.schema import (
    REQUIRED,
    Field,
    Invalid,
    Section,
    When,
    anchor_path,
    file_path,
    float_range,
    integer,
    list_of,
    number,
    one_of,
)


def _pair_in_order(values: dict) -> None:
    if values["low"] > values["high"]:
        raise Invalid("must not exceed high", "low")


SECTION = Section({
    "kind": Field(one_of(("square", "circle")), REQUIRED),
    "side": Field(number(0, open_bounds=True), 1.0, When("kind", ("square",), "shape")),
    "sizes": Field(list_of(integer(1, 9), "integers from 1 to 9"), [1]),
    "low": Field(integer(), 0),
    "high": Field(integer(), 5),
    "span": Field(float_range(0.0, 1.0), [0.0, 1.0]),
    "source": Field(file_path("builtin"), "builtin", anchor=anchor_path),
}, rules=(_pair_in_order,))


def message(table: dict, where: str = "f.toml: shape") -> str:
    with pytest.raises(ConfigError) as info:
        SECTION.validate(table, where)
    return str(info.value)


def test_defaults_are_filled_and_inapplicable_keys_left_out(tmp_path):
    assert SECTION.validate({"kind": "square"}, "shape") == {
        "kind": "square", "side": 1.0, "sizes": [1], "low": 0, "high": 5, "span": [0.0, 1.0], "source": "builtin"}
    circle = SECTION.validate({"kind": "circle", "span": 0.5, "source": "d.npz"}, "shape", base=tmp_path)
    assert "side" not in circle and circle["span"] == [0.5, 0.5] and circle["source"] == tmp_path / "d.npz"
    assert SECTION.validate(circle, "shape", base=tmp_path) == circle  # normalizing twice changes nothing


@pytest.mark.parametrize("table, expected", [
    ({}, "f.toml: shape.kind: missing (required)"),
    ({"kind": "sqare"}, "f.toml: shape.kind: expected one of square, circle, got 'sqare' (did you mean 'square'?)"),
    ({"kind": "circle", "side": 2.0}, "f.toml: shape.side: only for the square shape, not circle"),
    ({"kind": "square", "side": 0}, "f.toml: shape.side: expected a positive number, got 0"),
    ({"kind": "square", "sizes": [3, 10]}, "f.toml: shape.sizes[1]: expected an integer from 1 to 9, got 10"),
    ({"kind": "square", "sizes": 3}, "f.toml: shape.sizes: expected a non-empty list of integers from 1 to 9, got 3"),
    ({"kind": "square", "low": 7}, "f.toml: shape.low: must not exceed high"),
    ({"kind": "square", "span": [0.5, 2]}, "f.toml: shape.span: expected 0.0 <= low <= high <= 1.0, got [0.5, 2]"),
    ({"kind": "square", "hihg": 3},
     ("f.toml: shape.hihg: unknown key; did you mean 'high'? (expected one of: kind, side, sizes, low, high, span, "
      "source)")),
])
def test_errors_name_the_place_and_reason(table, expected):
    assert message(table) == expected


def test_top_level_and_bare_places():
    assert message({"kind": 3}, "f.toml: ") == "f.toml: kind: expected one of square, circle, got 3"
    assert message({"kind": "square", "sizes": [0]}, "shape") == "shape.sizes[0]: expected an integer from 1 to 9, got 0"
    assert message([1], "f.toml: shape") == "f.toml: shape: expected a table, got [1]"
