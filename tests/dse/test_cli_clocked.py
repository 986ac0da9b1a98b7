"""`dse simulate --clock` from the command line, and the bad designs it refuses with one line."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from dse.cli import main
from tests.characterize.test_clocked import PIPELINE
from tests.conftest import require_tool

DFF = "sky130_fd_sc_hd__dfxtp_1"
HEADER = "module m (clk, a, y);\n  input clk;\n  input a;\n  output y;\n  wire n;\n"
BAD = {
    "no clock port": (PIPELINE, ["--clock", "clock"], "pipe.v: netlist pipe has no port 'clock'"),
    "clock into data": (HEADER + f"  {DFF} r (.CLK(clk), .D(clk), .Q(y));\nendmodule\n", ["--clock", "clk"],
                        "m.v:6: instance r: clock clk drives data pin D"),
    "loop without register": (HEADER + "  sky130_fd_sc_hd__nand2_1 u (.A(a), .B(y), .Y(n));\n"
                              "  sky130_fd_sc_hd__inv_1 v (.A(n), .Y(y));\nendmodule\n", ["--clock", "clk"],
                              "m.v:6: combinational loop through instance u"),
    "memory macro": (HEADER + "  sky130_sram_1kbyte_1rw1r_32x256_8 mem (.clk0(clk), .din0(a), .dout0(y));\nendmodule\n",
                     ["--clock", "clk"], ("m.v:6: instance mem: unknown cell sky130_sram_1kbyte_1rw1r_32x256_8 (not in "
                                          "the built-in subset library; pass --library")),
    "registers without --clock": (PIPELINE, [], "pipe.v: the netlist has 9 flip-flops; name the clock port with --clock"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_designs_give_one_line_and_write_nothing(tmp_path, capsys, kind):
    text, options, message = BAD[kind]
    path = tmp_path / ("pipe.v" if text is PIPELINE else "m.v")
    path.write_text(text)
    vectors = tmp_path / "v.csv"
    vectors.write_text("a,b\n1,2\n3,4\n" if text is PIPELINE else "a\n0\n1\n")
    toggles = tmp_path / "t.csv"
    assert main(["simulate", str(path), "--inputs", str(vectors), "--toggles", str(toggles), "--period-ps", "2000",
                 *options]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not toggles.exists()


def test_simulate_clock_reports_energy_parts_and_period(tmp_path, capsys):
    path = tmp_path / "pipe.v"
    path.write_text(PIPELINE)
    rng = np.random.default_rng(0)
    vectors = tmp_path / "v.csv"
    vectors.write_text("a,b\n" + "".join(f"{a},{b}\n" for a, b in rng.integers(0, 8, (60, 2))))
    toggles = tmp_path / "t.csv"
    assert main(["simulate", str(path), "--inputs", str(vectors), "--toggles", str(toggles), "--clock", "clk",
                 "--period-ps", "2000", "--timed-verilog", str(tmp_path / "timed.v"), "--json", str(tmp_path / "t.json")]) == 0
    out = capsys.readouterr().out
    assert "pipe: 13 cells (9 flip-flops), 235.23 um2" in out
    assert "9 flip-flops, 59 clock cycles counted" in out and "switching: clock " in out
    assert "minimum period (STA) " in out and "(register-to-register to fy2/D)" in out
    frame = pd.read_csv(toggles)
    assert frame.loc[frame["net"] == "clk", "toggles"].item() == 2 * 59  # it falls at P and rises at P + P/2, 59 times
    assert "always @(posedge" in (tmp_path / "timed.v").read_text()
    report = json.loads((tmp_path / "t.json").read_text())
    assert 1000 < report["min_period_ps"] < 1300
    assert report["setup_slack_ps"] == pytest.approx(2000 - report["min_period_ps"])
    assert report["critical"]["endpoint"] == "fy2/D" and report["critical"]["path"][-1] == "s[2] fall"
    assert abs(sum(report["switching_energy_share"].values()) - 1) < 1e-9 and report["cycles"] == 59



def test_timed_verilog_replays_in_icarus_with_the_same_toggles(tmp_path, capsys):
    """The written file holds the design and its stimulus: Icarus alone counts what the toggles file says."""
    require_tool("iverilog")
    path, vectors, toggles, timed = tmp_path / "pipe.v", tmp_path / "v.csv", tmp_path / "t.csv", tmp_path / "timed.v"
    path.write_text(PIPELINE)
    rng = np.random.default_rng(5)
    vectors.write_text("a,b\n" + "".join(f"{a},{b}\n" for a, b in rng.integers(0, 8, (80, 2))))
    assert main(["simulate", str(path), "--inputs", str(vectors), "--toggles", str(toggles), "--clock", "clk",
                 "--period-ps", "700", "--timed-verilog", str(timed)]) == 0
    capsys.readouterr()
    subprocess.run(["iverilog", "-gspecify", "-o", str(tmp_path / "sim.vvp"), str(timed)], check=True)
    printed = subprocess.run(["vvp", "-n", str(tmp_path / "sim.vvp")], check=True, capture_output=True, text=True).stdout
    icarus = {line.split()[3]: int(line.split()[2]) for line in printed.splitlines() if line.startswith("toggles ")}
    ours = pd.read_csv(toggles).set_index("net")["toggles"].to_dict()
    assert icarus == ours and sum(ours.values()) > 500

MACRO = """
    cell ("sram_macro") {
        area : 1000.0;
        %s
        pin ("clk0") { direction : "input"; capacitance : 0.002; clock : "true"; }
        pin ("din0") { direction : "input"; capacitance : 0.002; }
        pin ("dout0") { direction : "output"; }
    }
"""


@pytest.mark.parametrize("group,problem", [
    ("memory () { type : ram; address_width : 1; word_width : 1; }",
     "has a memory, state table or register bank group rather than one ff or latch group"),
    ("", "has no function for output pin dout0 (a macro)")])
@pytest.mark.parametrize("command", ["simulate", "timing"])
def test_a_macro_in_the_library_is_refused_where_used(tmp_path, capsys, group, problem, command):
    """A library with a memory macro or a cell without a function still loads; a netlist using it gets one line."""
    from cells.default import default_library_path

    text = default_library_path().read_text()
    end = text.rindex("}")
    library = tmp_path / "macro.lib"
    library.write_text(text[:end] + MACRO % group + text[end:])
    path = tmp_path / "m.v"
    path.write_text(HEADER + "  sram_macro mem (.clk0(clk), .din0(a), .dout0(y));\nendmodule\n")
    (tmp_path / "v.csv").write_text("a\n0\n1\n")
    out = tmp_path / "t.csv"
    extra = ["--inputs", str(tmp_path / "v.csv"), "--toggles", str(out), "--period-ps", "1000"] if command == "simulate" else []
    assert main([command, str(path), "--library", str(library), "--clock", "clk", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"dse: error: {path}:6: instance mem: cell sram_macro {problem}, so it can be neither simulated nor timed"
    assert not out.exists()


def test_a_clock_gated_by_its_own_register_is_refused(tmp_path, capsys):
    path = tmp_path / "m.v"
    path.write_text(HEADER + "  sky130_fd_sc_hd__and2_1 g (.A(clk), .B(y), .X(n));\n"
                    f"  {DFF} r (.CLK(n), .D(a), .Q(y));\nendmodule\n")
    assert main(["timing", str(path), "--clock", "clk"]) == 2
    assert capsys.readouterr().err.strip() == f"dse: error: {path}:7: instance r: its clock depends on a register it clocks"


def test_latches_simulate_and_time(tmp_path, capsys):
    """`dse simulate --clock` and `dse timing --clock` on a latch design: the positive latch ly2 is critical."""
    from tests.characterize.test_clocked import LATCHES
    from tests.conftest import shared_file

    library = shared_file("sky130hd_tt.lib.gz")
    path = tmp_path / "latches.v"
    path.write_text(LATCHES)
    vectors = tmp_path / "v.csv"
    vectors.write_text("a,b\n" + "".join(f"{i % 8},{(3 * i) % 8}\n" for i in range(30)))
    toggles = tmp_path / "t.csv"
    assert main(["simulate", str(path), "--library", str(library), "--inputs", str(vectors), "--toggles", str(toggles),
                 "--clock", "clk", "--period-ps", "4000", "--json", str(tmp_path / "t.json")]) == 0
    out = capsys.readouterr().out
    assert "(register-to-register to ly2/D)" in out and "(6 flip-flops and 3 latches)" in out
    assert json.loads((tmp_path / "t.json").read_text())["setup_slack_ps"] > 0 and toggles.exists()
    assert main(["timing", str(path), "--library", str(library), "--clock", "clk"]) == 0
    assert "(register-to-register to ly2/D)" in capsys.readouterr().out
