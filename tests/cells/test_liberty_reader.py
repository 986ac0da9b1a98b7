"""Liberty reading: cells, functions, tables, units, and errors that name file, line and cell."""

from __future__ import annotations

import re

import pytest

from cells import LibraryError, read_liberty
from cells.default import default_library_path
from tests.cells.liberty_text import attribute, cell_blocks, numbers, pin_blocks

NAND2 = "sky130_fd_sc_hd__nand2_1"


@pytest.fixture(scope="module")
def default_text() -> str:
    return default_library_path().read_text()


def test_default_library_has_30_cells_with_the_files_functions(library, default_text):
    blocks = cell_blocks(default_text)
    assert len(library.cells) == 30
    assert list(library.cells) == list(blocks)
    for name, block in blocks.items():
        expected = {
            pin: attribute(text, "function")
            for pin, text in pin_blocks(block).items()
            if attribute(text, "direction") == "output"
        }
        assert library.cells[name].functions == expected, name
        cell = library.cells[name]
        assert cell.combinational or (cell.register.kind == "ff" and cell.register.clock == "CLK")


def _first_cell_rise(cell_text: str) -> tuple[str, list[float], list[float], list[list[float]]]:
    """related_pin, index_1, index_2 and values of the first cell_rise table of a cell, from the text."""
    timing = cell_text[cell_text.index("timing ()") :]
    timing = timing[: timing.index("timing_type")]
    table = timing[timing.index("cell_rise") :]
    index_1 = numbers(re.search(r"index_1\s*\(([^)]*)\)", table).group(1))
    index_2 = numbers(re.search(r"index_2\s*\(([^)]*)\)", table).group(1))
    flat = numbers(re.search(r"values\s*\(([^)]*)\)", table).group(1))
    rows = [flat[i : i + len(index_2)] for i in range(0, len(flat), len(index_2))]
    return attribute(timing, "related_pin"), index_1, index_2, rows


@pytest.fixture(scope="module")
def nand2_rise(library, default_text):
    related, index_1, index_2, rows = _first_cell_rise(cell_blocks(default_text)[NAND2])
    arc = next(a for a in library.cells[NAND2].timing if a.related_pin == related)
    # The file is in ns and pF; the library is in seconds and farads.
    slews = [x * 1e-9 for x in index_1]
    loads = [y * 1e-12 for y in index_2]
    delays = [[v * 1e-9 for v in row] for row in rows]
    return arc.cell_rise, slews, loads, delays


def test_table_lookup_is_exact_at_grid_points(nand2_rise):
    table, slews, loads, delays = nand2_rise
    for i, slew in enumerate(slews):
        for j, load in enumerate(loads):
            assert table.lookup(slew, load) == pytest.approx(delays[i][j], rel=1e-12, abs=0)


def test_table_lookup_is_bilinear_between_grid_points(nand2_rise):
    table, slews, loads, delays = nand2_rise
    for i in range(len(slews) - 1):
        for j in range(len(loads) - 1):
            slew = 0.75 * slews[i] + 0.25 * slews[i + 1]
            load = 0.5 * (loads[j] + loads[j + 1])
            near = 0.5 * (delays[i][j] + delays[i][j + 1])
            far = 0.5 * (delays[i + 1][j] + delays[i + 1][j + 1])
            assert table.lookup(slew, load) == pytest.approx(0.75 * near + 0.25 * far, rel=1e-9)


def test_table_lookup_extends_the_end_segments_linearly(nand2_rise):
    table, slews, loads, delays = nand2_rise
    beyond_slew = slews[-1] + (slews[-1] - slews[-2])
    below_load = loads[0] - 0.5 * (loads[1] - loads[0])
    assert table.lookup(beyond_slew, loads[2]) == pytest.approx(2 * delays[-1][2] - delays[-2][2], rel=1e-9)
    assert table.lookup(slews[3], below_load) == pytest.approx(1.5 * delays[3][0] - 0.5 * delays[3][1], rel=1e-9)


def test_sky130_units_are_converted_to_si(sky130_full, library, default_text):
    assert sky130_full.units.time == 1e-9
    assert sky130_full.units.capacitance == 1e-12
    assert sky130_full.voltage == pytest.approx(1.8)
    block = cell_blocks(default_text)[NAND2]
    cell = library.cells[NAND2]
    assert cell.capacitance["A"] == pytest.approx(float(attribute(pin_blocks(block)["A"], "capacitance")) * 1e-12)
    assert cell.leakage == pytest.approx(float(attribute(block, "cell_leakage_power")) * 1e-9)
    assert cell.area == float(attribute(block, "area"))


def test_nangate_capacitance_is_in_femtofarads(nangate, nangate_text):
    assert nangate.units.capacitance == 1e-15
    assert nangate.voltage == pytest.approx(1.1)
    block = cell_blocks(nangate_text)["NAND2_X1"]
    cap = float(attribute(pin_blocks(block)["A1"], "capacitance"))
    assert nangate.cells["NAND2_X1"].capacitance["A1"] == pytest.approx(cap * 1e-15)
    assert nangate.wire_load.capacitance_per_length == pytest.approx(
        float(attribute(nangate_text[nangate_text.index('wire_load("5K_hvratio_1_1")') :], "capacitance")) * 1e-15
    )


def test_full_sky130_library_loads(sky130_full):
    assert len(sky130_full.cells) == 428
    assert sky130_full.cells["sky130_fd_sc_hd__dfxtp_1"].sequential
    assert not sky130_full.cells["sky130_fd_sc_hd__decap_3"].outputs


def test_full_nangate_library_loads(nangate):
    assert len(nangate.cells) == 134
    assert nangate.cells["DFF_X1"].sequential
    assert nangate.cells["FA_X1"].outputs == ("CO", "S")


HEADER = """library (small) {
  time_unit : "1ns";
  voltage_unit : "1V";
  leakage_power_unit : "1nW";
  capacitive_load_unit (1, ff);
  nom_voltage : 1.0;
"""
INV = """  cell (INV) {
    area : 1.0;
    pin (A) { direction : input; capacitance : 1.0; }
    pin (Y) { direction : output; function : "!A"; }
  }
"""


def _write(tmp_path, text: str):
    path = tmp_path / "small.lib"
    path.write_text(text)
    return path


def test_small_library_reads(tmp_path):
    lib = read_liberty(_write(tmp_path, HEADER + INV + "}\n"))
    assert lib.cells["INV"].capacitance == {"A": pytest.approx(1e-15)}


@pytest.mark.parametrize("text", [HEADER + INV, HEADER + INV + "}}\n", "this is not liberty at all\n"])
def test_malformed_file_names_the_file(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(LibraryError, match=re.escape(str(path))):
        read_liberty(path)


def test_syntax_error_names_its_line(tmp_path):
    text = HEADER + "  cell (X { }\n}\n"
    path = _write(tmp_path, text)
    with pytest.raises(LibraryError, match=re.escape(f"{path}:{text.splitlines().index('  cell (X { }') + 1}:")):
        read_liberty(path)


def test_output_without_function_is_read_as_an_unsupported_cell(tmp_path):
    """A macro without functions does not stop the library from loading; it says why it cannot be used."""
    text = HEADER + INV + """  cell (NOFUNC) {
    area : 1.0;
    pin (A) { direction : input; capacitance : 1.0; }
    pin (Y) { direction : output; }
  }
}
"""
    library = read_liberty(_write(tmp_path, text))
    assert library.cells["NOFUNC"].unsupported == "has no function for output pin Y (a macro)"
    assert library.cells["INV"].unsupported is None and not library.cells["NOFUNC"].combinational


def test_function_naming_an_unknown_pin_is_an_error(tmp_path):
    text = HEADER + INV.replace('"!A"', '"!(A & GHOST)"') + "}\n"
    with pytest.raises(LibraryError, match=r"INV.*GHOST"):
        read_liberty(_write(tmp_path, text))


def test_timing_arc_from_an_unknown_pin_is_an_error(tmp_path):
    inv = INV.replace('function : "!A"; }', 'function : "!A"; timing () { related_pin : "PHANTOM"; } }')
    with pytest.raises(LibraryError, match=r"INV.*PHANTOM"):
        read_liberty(_write(tmp_path, HEADER + inv + "}\n"))


def test_missing_file_is_a_library_error(tmp_path):
    path = tmp_path / "absent.lib"
    with pytest.raises(LibraryError, match=re.escape(str(path))):
        read_liberty(path)


def test_flip_flops_keep_their_ff_group_and_timing_checks(library):
    plain, reset = library.cells["sky130_fd_sc_hd__dfxtp_1"], library.cells["sky130_fd_sc_hd__dfrtp_1"]
    assert (plain.register.kind, plain.register.state, plain.register.clock, plain.register.data) == (
        "ff", ("IQ", "IQ_N"), "CLK", "D")
    assert plain.register.clear is None and reset.register.clear == "!RESET_B"
    kinds = {(a.related_pin, a.pin, a.timing_type) for a in plain.timing}
    assert kinds == {("CLK", "D", "setup_rising"), ("CLK", "D", "hold_rising"), ("CLK", "Q", "rising_edge")}
    setup = next(a for a in plain.timing if a.timing_type == "setup_rising")
    assert setup.rise_constraint.lookup(0.01e-9, 0.0) == pytest.approx(0.0508281e-9)  # the file's first value
    assert plain.arcs_to("Q") == ()  # clock-to-output is not a combinational arc
    assert ("RESET_B", "Q", "clear") in {(a.related_pin, a.pin, a.timing_type) for a in reset.timing}
