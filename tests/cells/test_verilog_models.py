"""Behavioral Verilog cell models, simulated with Icarus Verilog against the cells' truth tables."""

from __future__ import annotations

import subprocess

import pytest

from cells import read_liberty
from cells.verilog_models import format_cell_models
from tests.conftest import require_tool

SMALL = """library (small) {
  capacitive_load_unit (1, ff);
  nom_voltage : 1.0;
  cell (INV) {
    pg_pin (VDD) { pg_type : primary_power; }
    pin (A) { direction : input; }
    pin (Y) { direction : output; function : "A'"; }
  }
  cell (DFF) {
    ff (IQ, IQN) { next_state : "D"; clocked_on : "CK"; }
    pin (D) { direction : input; }
    pin (CK) { direction : input; }
    pin (Q) { direction : output; function : "IQ"; }
  }
  cell (FILL) {
    area : 1.0;
  }
  cell (XOR3) {
    pin (A) { direction : input; }
    pin (B) { direction : input; }
    pin (C) { direction : input; }
    pin (Y) { direction : output; function : "A ^ B ^ C"; }
  }
  cell (AOI) {
    pin (A) { direction : input; }
    pin (B) { direction : input; }
    pin (C) { direction : input; }
    pin (Y) { direction : output; function : "(A B + C)'"; }
    pin (Z) { direction : output; function : "!(A ^ C) * B"; }
  }
  cell (TIE) {
    pin (HI) { direction : output; function : "1"; }
    pin (LO) { direction : output; function : "0"; }
  }
}
"""


def make_testbench(library) -> str:
    """Instantiate every combinational cell, apply every input combination, print the outputs."""
    lines = ["module tb;"]
    for n, cell in enumerate(c for c in library.cells.values() if c.combinational):
        k = len(cell.inputs)
        width = max(k, 1)
        lines.append(f"  reg [{width - 1}:0] in{n};")
        lines.append(f"  wire [{len(cell.outputs) - 1}:0] out{n};")
        ports = [f".{p}(in{n}[{j}])" for j, p in enumerate(cell.inputs)]
        ports += [f".{p}(out{n}[{j}])" for j, p in enumerate(cell.outputs)]
        lines.append(f"  {cell.name} u{n} ({', '.join(ports)});")
        lines.append("  initial begin")
        lines.append(f"    for (integer i = 0; i < {1 << k}; i = i + 1) begin")
        lines.append(f"      in{n} = i; #1;")
        lines.append(f'      $display("{cell.name} %0d %b", i, out{n});')
        lines.append("    end")
        lines.append("  end")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def simulate(tmp_path, library) -> dict[str, dict[int, str]]:
    """cell -> input combination -> output bits (MSB = last output) as printed by the simulator."""
    iverilog = require_tool("iverilog")
    vvp = require_tool("vvp")
    (tmp_path / "cells.v").write_text(format_cell_models(library))
    (tmp_path / "tb.v").write_text(make_testbench(library))
    binary = tmp_path / "tb.vvp"
    sources = [str(tmp_path / "cells.v"), str(tmp_path / "tb.v")]
    subprocess.run([iverilog, "-g2012", "-o", str(binary), *sources], check=True)
    output = subprocess.run([vvp, "-n", str(binary)], check=True, capture_output=True, text=True).stdout
    printed: dict[str, dict[int, str]] = {}
    for line in output.splitlines():
        name, combination, outputs = line.split()
        printed.setdefault(name, {})[int(combination)] = outputs
    return printed


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("lib") / "small.lib"
    path.write_text(SMALL)
    return read_liberty(path)


def assert_models_match_truth_tables(library, tmp_path) -> None:
    printed = simulate(tmp_path, library)
    combinational = [c for c in library.cells.values() if c.combinational]
    assert set(printed) == {c.name for c in combinational}
    for cell in combinational:
        for i in range(1 << len(cell.inputs)):
            expected = "".join(str((t >> i) & 1) for t in reversed(cell.truth_tables))
            assert printed[cell.name][i] == expected, (cell.name, i)


@pytest.mark.tools
def test_default_library_models_match_truth_tables(library, tmp_path):
    registers = [c.name for c in library.cells.values() if not c.combinational]
    assert registers == ["sky130_fd_sc_hd__dfxtp_1", "sky130_fd_sc_hd__dfrtp_1"]
    assert_models_match_truth_tables(library, tmp_path)
    text = format_cell_models(library)
    assert all(f"// {name}: no model" in text for name in registers)


@pytest.mark.tools
def test_xor_inversion_and_constant_models_match_truth_tables(small, tmp_path):
    assert_models_match_truth_tables(small, tmp_path)


def test_models_have_logic_pins_only(library):
    text = format_cell_models(library, ["sky130_fd_sc_hd__nand2_1"])
    assert "module sky130_fd_sc_hd__nand2_1 (A, B, Y);" in text
    assert "VPWR" not in text and "VGND" not in text
    assert text.count("module ") == 1


def test_sequential_and_physical_cells_are_skipped_by_name(small):
    text = format_cell_models(small)
    assert "module INV (A, Y);" in text
    assert "VDD" not in text
    for name in ("DFF", "FILL"):
        assert f"module {name}" not in text
        assert any(line.startswith("//") and name in line for line in text.splitlines())
