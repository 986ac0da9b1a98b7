"""`dse netlist` and `dse cells`: written netlists simulate correctly in iverilog with our cell models."""

from __future__ import annotations

import re
import subprocess
from importlib.metadata import version

import numpy as np
import pytest

from characterize.netlist.logic import evaluate
from characterize.netlist.verilog import read_verilog
from characterize.passes.designs import MultiplierSpec, expected_output
from dse.cli import main
from tests.conftest import require_tool, shared_file


def run_iverilog(netlist_v, cells_v, tmp_path, a_values, width, out_width, signed):
    iverilog = require_tool("iverilog")
    bench = tmp_path / "bench.v"
    vectors = "\n".join(f"    a = {width}'d{v & ((1 << width) - 1)}; #10 $display(\"%0d\", y);" for v in a_values)
    bench.write_text(
        f"module bench;\n  reg [{width - 1}:0] a;\n  wire [{out_width - 1}:0] y;\n"
        f"  top dut (.a(a), .y(y));\n  initial begin\n{vectors}\n  end\nendmodule\n"
    )
    text = netlist_v.read_text()
    module = text.split("module ", 1)[1].split("(", 1)[0].strip()
    netlist_v.write_text(text.replace(f"module {module}", "module top", 1))
    binary = tmp_path / "sim.vvp"
    subprocess.run([iverilog, "-o", str(binary), str(bench), str(netlist_v), str(cells_v)], check=True)
    output = subprocess.run(["vvp", "-n", str(binary)], check=True, capture_output=True, text=True).stdout
    values = np.array([int(line) for line in output.split()], dtype=np.int64)
    if signed:
        values = np.where(values >> (out_width - 1), values - (1 << out_width), values)
    return values


@pytest.mark.parametrize("arch,weight", [("array", -3), ("booth", 77), ("dadda", -128), ("wallace", 1)])
def test_written_netlist_computes_the_product_in_iverilog(arch, weight, tmp_path):
    netlist_v, cells_v = tmp_path / "mul.v", tmp_path / "cells.v"
    assert main(["netlist", "--bits", "8", "--arch", arch, "--weight", str(weight), "-o", str(netlist_v)]) == 0
    assert main(["cells", "verilog", "-o", str(cells_v)]) == 0
    spec = MultiplierSpec(8, True, arch)
    a = np.arange(-128, 128)
    got = run_iverilog(netlist_v, cells_v, tmp_path, a, 8, 16, signed=True)
    assert np.array_equal(got, expected_output(spec, a, np.full(256, weight)))


def test_netlist_command_reports_cells_area_and_reference(tmp_path, capsys):
    out = tmp_path / "m.v"
    assert main(["netlist", "--bits", "6", "--unsigned", "--arch", "dadda", "--weight", "21", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "cells" in text and "um2" in text and "reference (no embedded weight)" in text
    from cells.default import load_library

    design = read_verilog(out, load_library())
    a = np.arange(64)
    assert np.array_equal(evaluate(design, {"a": a})["y"], a * 21)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["netlist", "--bits", "8", "--weight", "200", "-o", "x.v"], "out of range"),
        (["netlist", "--bits", "17", "-o", "x.v"], "bits"),
        (["netlist", "--bits", "8", "--mac", "9", "-o", "x.v"], "mac"),
        (["netlist", "--bits", "4", "--library", "missing.lib", "-o", "x.v"], "missing.lib"),
    ],
)
def test_bad_netlist_requests_exit_2_with_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_yosys_strategy_is_compared_and_correct(tmp_path, capsys):
    require_tool("yosys")
    out = tmp_path / "m.v"
    assert main(["netlist", "--bits", "4", "--weight", "-3", "--strategy", "best", "-o", str(out)]) == 0
    assert "yosys:" in capsys.readouterr().out
    from cells.default import load_library

    design = read_verilog(out, load_library())
    a = np.arange(-8, 8)
    assert np.array_equal(evaluate(design, {"a": a}, signed=True)["y"], a * -3)


def test_cells_list_prints_every_cell(capsys):
    assert main(["cells", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "30 cells" in lines[0]
    assert sum(1 for line in lines[1:] if line.startswith("sky130_fd_sc_hd__")) == 30


def test_output_closed_early_ends_quietly(tmp_path):
    import subprocess
    import sys

    command = f"{sys.executable} -m dse.cli cells list | head -1"
    run = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=tmp_path)
    assert run.stdout.startswith("sky130_fd_sc_hd__tt_025C_1v80")
    assert "Traceback" not in run.stderr


def test_dont_use_pattern_that_removes_a_needed_function_is_one_clear_line(tmp_path, capsys):
    out = tmp_path / "m.v"
    assert main(["netlist", "--bits", "4", "--dont-use", "*nand2_1", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dont-use patterns exclude sky130_fd_sc_hd__nand2_1" in err
    assert not out.exists()


def test_version_names_the_installed_package(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"dse {version('gatedse')}"


def test_size_for_delay_reports_upsized_cells_and_a_shorter_critical_delay(tmp_path, capsys):
    library = str(shared_file("sky130hd_tt.lib.gz"))
    fast, small = tmp_path / "fast.v", tmp_path / "small.v"
    assert main(["netlist", "--bits", "8", "--arch", "booth", "--weight", "-3", "--library", library,
                 "--size-for", "delay", "-o", str(fast)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("sized for delay"))
    upsized, sized_ps, area_ps = (float(x) for x in re.findall(r"(\d+) upsized cells, critical (\d+) ps "
                                                               r"\(sized for area: (\d+) ps\)", line)[0])
    assert upsized > 0 and sized_ps < area_ps
    assert main(["netlist", "--bits", "8", "--arch", "booth", "--weight", "-3", "--library", library,
                 "-o", str(small)]) == 0
    assert "sized for" not in capsys.readouterr().out
    assert fast.read_text() != small.read_text()


def test_size_for_area_is_the_default(tmp_path):
    default, area = tmp_path / "default.v", tmp_path / "area.v"
    assert main(["netlist", "--bits", "4", "--weight", "5", "-o", str(default)]) == 0
    assert main(["netlist", "--bits", "4", "--weight", "5", "--size-for", "area", "-o", str(area)]) == 0
    assert default.read_bytes() == area.read_bytes()
