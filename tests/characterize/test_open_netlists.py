"""Netlists as other tools write them: escaped names, wide ports, power ports, physical-only cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cells.default import load_library
from characterize.errors import NetlistError
from characterize.netlist.logic import evaluate
from characterize.netlist.verilog import read_verilog
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, annotate_arc_delays, default_external_load
from characterize.timing.timed_verilog import run_iverilog, write_timed_verilog
from dse.cli import main
from tests.conftest import require_tool

XOR = "sky130_fd_sc_hd__xor2_1"
AND = "sky130_fd_sc_hd__and2_1"

# EPFL style: every bit its own escaped scalar port; plus a 70-bit vector port and power ports.
ESCAPED_WIDE = f"""module wide (\\B[0] , \\B[1] , x, \\f[0] , \\f[1] , y, VPWR, VGND);
  input \\B[0] ;
  input \\B[1] ;
  input [69:0] x;
  output \\f[0] ;
  output \\f[1] ;
  output [1:0] y;
  inout VPWR;
  inout VGND;
  wire \\n$1 ;
  {XOR} g0 (.A(\\B[0] ), .B(\\B[1] ), .X(\\n$1 ), .VPWR(VPWR), .VGND(VGND));
  {AND} g1 (.A(\\n$1 ), .B(x[69]), .X(\\f[0] ), .VPWR(VPWR), .VGND(VGND));
  {XOR} g2 (.A(x[0]), .B(x[64]), .X(\\f[1] ), .VPWR(VPWR), .VGND(VGND));
  {AND} g3 (.A(x[63]), .B(x[68]), .X(y[0]), .VPWR(VPWR), .VGND(VGND));
  {XOR} g4 (.A(\\B[1] ), .B(x[1]), .X(y[1]), .VPWR(VPWR), .VGND(VGND));
  sky130_fd_sc_hd__tapvpwrvgnd_1 TAP_1 ();
  sky130_fd_sc_hd__tapvpwrvgnd_1 TAP_2 ();
endmodule
"""


@pytest.fixture
def wide(tmp_path):
    path = tmp_path / "wide.v"
    path.write_text(ESCAPED_WIDE)
    return path


def test_power_ports_and_physical_cells_are_left_out(wide, library):
    netlist = read_verilog(wide, library)
    assert [p.name for p in netlist.ports] == ["\\B[0]", "\\B[1]", "x", "\\f[0]", "\\f[1]", "y"]
    assert not {"VPWR", "VGND"} & set(netlist.nets)
    assert netlist.physical_cells == {"sky130_fd_sc_hd__tapvpwrvgnd_1": 2}
    assert len(netlist.instances) == 5


def test_timing_prints_cells_area_and_the_physical_note(wide, capsys):
    area = read_verilog(wide, load_library()).area
    assert main(["timing", str(wide)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"wide: 5 cells, {area:.2f} um2, 48 transistors"
    assert out[1] == "note: ignored 2 physical-only cells (no logic function): sky130_fd_sc_hd__tapvpwrvgnd_1 x2"


def test_wide_values_evaluate_as_python_ints(wide, library):
    netlist = read_verilog(wide, library)
    x = np.array([(1 << 69) | (1 << 64), (1 << 68) | (1 << 63) | 1, (1 << 70) - 1], dtype=object)
    outputs = evaluate(netlist, {"\\B[0]": np.array([1, 0, 1]), "\\B[1]": np.array([0, 0, 1]), "x": x})
    assert outputs["\\f[0]"].tolist() == [1, 0, 0]
    assert outputs["\\f[1]"].tolist() == [1, 1, 0]
    assert outputs["y"].tolist() == [0, 1, 1 | 0]


def vectors_csv(path, rows):
    path.write_text("B[0],\\B[1],x\n" + "".join(f"{b0},{b1},{x}\n" for b0, b1, x in rows))


def test_simulate_escaped_and_wide_agrees_with_iverilog(wide, tmp_path, capsys):
    require_tool("iverilog")
    rng = np.random.default_rng(1)
    rows = []
    for k in range(60):
        x = int.from_bytes(rng.bytes(9), "little") & ((1 << 70) - 1)
        text = hex(x) if k % 3 == 0 else str(x - (1 << 70) if k % 3 == 1 and x >> 69 else x)
        rows.append((int(rng.integers(2)), int(rng.integers(2)), text))
    vectors, toggles, timed_v = tmp_path / "v.csv", tmp_path / "t.csv", tmp_path / "timed.v"
    vectors_csv(vectors, rows)
    assert main(["simulate", str(wide), "--inputs", str(vectors), "--toggles", str(toggles),
                 "--timed-verilog", str(timed_v)]) == 0
    out = capsys.readouterr().out
    assert "wide: 5 cells, " in out and "um2" in out
    assert "note: ignored 2 physical-only cells (no logic function): sky130_fd_sc_hd__tapvpwrvgnd_1 x2" in out
    assert "\\B[0] ;" in timed_v.read_text()
    ours = pd.read_csv(toggles).set_index("net")["toggles"]
    netlist = read_verilog(wide, load_library())
    calc = calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, default_external_load(netlist.library))
    timed = annotate_arc_delays(calc)
    assert timed_v.read_text() == write_timed_verilog(timed)
    x = np.array([int(r[2], 0) % (1 << 70) for r in rows], dtype=object)
    inputs = {"\\B[0]": np.array([r[0] for r in rows]), "\\B[1]": np.array([r[1] for r in rows]), "x": x}
    reference = run_iverilog(timed, inputs, tmp_path / "iverilog")
    for net in range(2, len(netlist.nets)):
        assert ours[netlist.nets[net].lstrip("\\")] == reference.toggles[net], netlist.nets[net]
    assert reference.toggles[2:].sum() > 100


@pytest.mark.parametrize(
    "row,message",
    [("0,1,0x1" + "0" * 18, ":3: port x = 4722366482869645213696 is outside its range [-590295810358705651712, 1180591620717411303423] (70 bits"),
     ("0,2,5", ":3: port \\B[1] = 2 is outside its range [-1, 1] (1 bits")],
)
def test_vector_values_must_fit_their_port(wide, tmp_path, capsys, row, message):
    vectors = tmp_path / "v.csv"
    vectors.write_text("B[0],\\B[1],x\n0,0,1\n" + row + "\n")
    assert main(["simulate", str(wide), "--inputs", str(vectors), "--toggles", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "t.csv").exists()


def test_cell_missing_from_the_subset_suggests_library(tmp_path, library):
    path = tmp_path / "m.v"
    path.write_text("module m (a, y);\n  input a;\n  output y;\n  sky130_fd_sc_hd__dfxtp_9 r (.D(a), .Q(y), .CLK(a));\nendmodule\n")
    with pytest.raises(NetlistError, match=r":4: instance r: unknown cell sky130_fd_sc_hd__dfxtp_9 \(not in the built-in "
                       r"subset library; pass --library with the full Liberty file\)$"):
        read_verilog(path, library)


def test_library_physical_cells_are_recognised(sky130_full, tmp_path):
    path = tmp_path / "m.v"
    path.write_text("module m (a, y);\n  input a;\n  output y;\n  sky130_fd_sc_hd__inv_1 u (.A(a), .Y(y));\n"
                    "  sky130_fd_sc_hd__decap_3 d ();\n  sky130_fd_sc_hd__diode_2 ant (.DIODE(a));\n"
                    "  sky130_fd_sc_hd__decap_4 f ();\nendmodule\n")
    netlist = read_verilog(path, sky130_full)
    assert [i.name for i in netlist.instances] == ["u"]
    assert netlist.physical_cells == {"sky130_fd_sc_hd__decap_3": 1, "sky130_fd_sc_hd__diode_2": 1,
                                      "sky130_fd_sc_hd__decap_4": 1}
