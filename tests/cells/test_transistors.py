"""Transistor counts: the Liberty attribute when present, textbook estimates otherwise."""

from __future__ import annotations

import pytest

from cells import read_liberty
from cells.default import default_library_path
from tests.cells.liberty_text import attribute, cell_blocks

SMALL = """library (small) {
  capacitive_load_unit (1, ff);
  nom_voltage : 1.0;
  cell (NAND_BA) {
    pin (A) { direction : input; }
    pin (B) { direction : input; }
    pin (Y) { direction : output; function : "(B A)'"; }
  }
  cell (MUX_ODD) {
    pin (S) { direction : input; }
    pin (D1) { direction : input; }
    pin (D0) { direction : input; }
    pin (Z) { direction : output; function : "S D1 + !S D0"; }
  }
  cell (SUM_CARRY) {
    pin (X) { direction : input; }
    pin (Y) { direction : input; }
    pin (CO) { direction : output; function : "X*Y"; }
    pin (S) { direction : output; function : "X^Y"; }
  }
  cell (TIES) {
    pin (ONE) { direction : output; function : "1"; }
    pin (ZERO) { direction : output; function : "0"; }
  }
  cell (NAND_B) {
    pin (A) { direction : input; }
    pin (B) { direction : input; }
    pin (Y) { direction : output; function : "!(!A & B)"; }
  }
  cell (GIVEN) {
    transistors : 99;
    pin (A) { direction : input; }
    pin (Y) { direction : output; function : "!A"; }
  }
}
"""


@pytest.mark.parametrize(
    "cell, expected", [("NAND2_X1", 4), ("INV_X1", 2), ("FA_X1", 28), ("HA_X1", 18), ("AOI22_X1", 8)]
)
def test_nangate_cells_get_textbook_counts(nangate, cell, expected):
    assert nangate.cells[cell].transistors == expected


def test_cells_outside_the_table_have_no_count(nangate):
    assert nangate.cells["AOI211_X1"].transistors is None
    assert nangate.cells["DFF_X1"].transistors is None
    assert nangate.cells["FILLCELL_X1"].transistors is None


def test_default_library_keeps_its_attribute(library):
    blocks = cell_blocks(default_library_path().read_text())
    for name, cell in library.cells.items():
        assert cell.transistors == int(attribute(blocks[name], "transistors")), name


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("lib") / "small.lib"
    path.write_text(SMALL)
    return read_liberty(path)


@pytest.mark.parametrize(
    "cell, expected",
    [("NAND_BA", 4), ("MUX_ODD", 12), ("SUM_CARRY", 18), ("TIES", 4), ("NAND_B", None), ("GIVEN", 99)],
)
def test_matching_ignores_pin_names_order_and_syntax(small, cell, expected):
    assert small.cells[cell].transistors == expected
