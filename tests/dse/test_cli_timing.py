"""`dse timing`: the critical path printed and as JSON, SDF written and read back, one line for a bad SDF; with
`--clock`, the sequential timing of `sequential_timing()` on the PE and a register pipeline, and the refusals."""

from __future__ import annotations

import json
import re

import pytest

from cells.default import default_library_path
from characterize.netlist.verilog import read_verilog
from characterize.timing.clocked import annotate_registers
from characterize.timing.sequential_sta import sequential_timing
from dse.cli import main
from tests.characterize.test_clocked import PIPELINE, opensta_period_ps
from tests.conftest import require_tool


@pytest.fixture
def booth4(tmp_path):
    path = tmp_path / "booth4.v"
    assert main(["netlist", "--bits", "4", "--arch", "booth", "-o", str(path)]) == 0
    return path


def test_prints_the_path_and_writes_json_and_sdf(booth4, tmp_path, capsys):
    out_json, out_sdf = tmp_path / "path.json", tmp_path / "delays.sdf"
    assert main(["timing", str(booth4), "--input-slew-ps", "60", "--output-load-ff", "4",
                 "--json", str(out_json), "--sdf-out", str(out_sdf)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(out_json.read_text())
    assert set(report) == {"critical_delay_ps", "path"}
    assert f"critical delay: {report['critical_delay_ps']:.1f} ps" in printed
    assert report["path"][0]["slew_ps"] == pytest.approx(60.0)
    assert report["path"][-1]["arrival_ps"] == pytest.approx(report["critical_delay_ps"])
    assert any(" -> " in stage["arc"] for stage in report["path"])
    assert main(["timing", str(booth4), "--sdf", str(out_sdf), "--input-slew-ps", "60", "--output-load-ff", "4",
                 "--json", str(out_json)]) == 0
    assert json.loads(out_json.read_text())["critical_delay_ps"] == pytest.approx(report["critical_delay_ps"],
                                                                                  abs=0.01)


def test_bad_sdf_is_one_line(booth4, tmp_path, capsys):
    sdf = tmp_path / "bad.sdf"
    sdf.write_text('(DELAYFILE\n(CELL (CELLTYPE "x") (INSTANCE U1)\n(DELAY (ABSOLUTE (COND A (IOPATH A Y (1)))))))\n')
    out_json = tmp_path / "never.json"
    assert main(["timing", str(booth4), "--sdf", str(sdf), "--json", str(out_json)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"dse: error: {sdf}:3: unsupported SDF construct (COND)") and error.count("\n") == 1
    assert not out_json.exists()


def test_characterize_takes_an_sdf_in_stationary_mode_only(tmp_path, capsys):
    import pandas as pd

    netlist, sdf = tmp_path / "booth4.v", tmp_path / "booth4.sdf"
    assert main(["netlist", "--bits", "4", "--arch", "booth", "-o", str(netlist)]) == 0
    assert main(["timing", str(netlist), "--sdf-out", str(sdf), "--json", str(tmp_path / "t.json")]) == 0
    sign_off_ps = json.loads((tmp_path / "t.json").read_text())["critical_delay_ps"]
    common = ["characterize", "--bits", "4", "--arch", "booth", "--weights", "1,3", "--vectors", "40",
              "--cache", str(tmp_path / "cache"), "--sdf", str(sdf)]
    assert main([*common, "--mode", "stationary", "-o", str(tmp_path / "lut.csv")]) == 0
    reference = pd.read_csv(tmp_path / "lut.csv").iloc[0]
    # the SDF's arc delays in whole ps: within half a step per stage of the sign-off path
    assert reference["critical_delay_ps"] == pytest.approx(sign_off_ps, abs=15)
    sdf.write_text(re.sub(r"\(IOPATH (.*?) \(([0-9.]+):[0-9.]+:[0-9.]+\) \(([0-9.]+):[0-9.]+:[0-9.]+\)\)",
                          lambda m: f"(IOPATH {m.group(1)} ({float(m.group(2)) * 10}) ({float(m.group(3)) * 10}))",
                          sdf.read_text()))
    assert main([*common, "--mode", "stationary", "-o", str(tmp_path / "slow.csv")]) == 0
    assert pd.read_csv(tmp_path / "slow.csv").iloc[0]["critical_delay_ps"] > 5 * sign_off_ps
    capsys.readouterr()
    assert main([*common, "--mode", "embedded", "-o", str(tmp_path / "never.csv")]) == 2
    assert "applies to stationary mode" in capsys.readouterr().err
    assert not (tmp_path / "never.csv").exists()


@pytest.fixture
def pipe(tmp_path):
    path = tmp_path / "pipe.v"
    path.write_text(PIPELINE)
    return path


@pytest.fixture
def pe4(tmp_path):
    path = tmp_path / "pe.v"
    assert main(["netlist", "--pe", "--bits", "4", "--arch", "array", "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("design", ["pipe", "pe4"])
def test_clock_reports_the_sequential_timing(design, library, tmp_path, capsys, request):
    """Minimum period, slacks and critical path printed and written as `sequential_timing()` gives them, at the
    slew and load the options set."""
    path = request.getfixturevalue(design)
    capsys.readouterr()
    out_json = tmp_path / "seq.json"
    assert main(["timing", str(path), "--clock", "clk", "--period-ps", "3000", "--input-slew-ps", "60",
                 "--output-load-ff", "4", "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    expected = sequential_timing(annotate_registers(read_verilog(path, library), "clk", 60e-12, 4e-15))
    default = sequential_timing(annotate_registers(read_verilog(path, library), "clk"))
    assert expected.min_period_ps > default.min_period_ps > 0 and expected.hold_slack_ps is not None
    report = json.loads(out_json.read_text())
    assert report == {"period_ps": 3000, "input_delay_ps": None, "min_period_ps": expected.min_period_ps,
                      "setup_slack_ps": 3000 - expected.min_period_ps, "hold_slack_ps": expected.hold_slack_ps,
                      "critical": {"kind": expected.critical.kind, "endpoint": expected.critical.endpoint,
                                   "path": list(expected.critical.path),
                                   "arrival_ps": [t * 1e12 for t in expected.critical.arrivals_s]}}
    arrivals = report["critical"]["arrival_ps"]
    assert len(arrivals) == len(report["critical"]["path"]) and arrivals == sorted(arrivals) and arrivals[-1] > 500
    assert f"minimum period: {expected.min_period_ps:.0f} ps ({expected.critical.kind} to " in printed
    assert f"setup slack: {3000 - expected.min_period_ps:.0f} ps at 3000 ps" in printed
    assert f"worst hold slack: {expected.hold_slack_ps:.0f} ps" in printed
    assert f"{arrivals[-1]:9.1f}  {expected.critical.path[-1]}\n" in printed
    assert main(["timing", str(path), "--clock", "clk", "--json", str(out_json)]) == 0
    report = json.loads(out_json.read_text())
    assert report["min_period_ps"] == default.min_period_ps and report["setup_slack_ps"] is None
    assert "setup slack" not in capsys.readouterr().out


def test_input_delay_gives_opensta_period(pe4, library, tmp_path, capsys):
    """With --input-delay-ps, the period OpenSTA reports with set_input_delay (a late input makes the path from
    psum_in critical); the default, inputs half a period after the edge, needs a longer one."""
    require_tool("sta")
    clocked = annotate_registers(read_verilog(pe4, library), "clk")
    out_json = tmp_path / "seq.json"
    periods = {}
    for delay_ps in (0.0, 3000.0):
        assert main(["timing", str(pe4), "--clock", "clk", "--input-delay-ps", f"{delay_ps:g}",
                     "--json", str(out_json)]) == 0
        assert f"inputs change {delay_ps:g} ps after the clock edge" in capsys.readouterr().out
        report = json.loads(out_json.read_text())
        period, _hold = opensta_period_ps(default_library_path(), pe4, "pe4s_array_ripple_acc12", clocked, tmp_path,
                                          delay_ps / 1000)
        assert report["input_delay_ps"] == delay_ps
        assert report["min_period_ps"] == pytest.approx(period, rel=1e-3)
        periods[delay_ps] = report["min_period_ps"], report["critical"]["kind"]
    assert periods[0.0][1] == "register-to-register" and periods[3000.0][1] == "input-to-register"
    assert main(["timing", str(pe4), "--clock", "clk", "--json", str(out_json)]) == 0
    assert json.loads(out_json.read_text())["min_period_ps"] > 1.5 * periods[0.0][0]


REFUSED = {
    "registers without --clock": ([], "pipe.v: the netlist has 9 flip-flops; name the clock port with --clock"),
    "--sdf with --clock": (["--clock", "clk", "--sdf", "d.sdf"],
                           "--sdf: SDF delays apply to combinational netlists; a clocked netlist is timed from the library"),
    "--sdf-out with --clock": (["--clock", "clk", "--sdf-out", "d.sdf"],
                               ("--sdf-out: SDF delays apply to combinational netlists; a clocked netlist is timed "
                                "from the library")),
    "--period-ps without --clock": (["--period-ps", "2000"], "--period-ps is the clock period of --clock; it needs --clock"),
    "--input-delay-ps without --clock": (["--input-delay-ps", "0"],
                                         "--input-delay-ps times the inputs against --clock; it needs --clock"),
    "negative --input-delay-ps": (["--clock", "clk", "--input-delay-ps=-5"], "--input-delay-ps must not be negative, got -5.0"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_clocked_refusals_are_one_line_and_write_nothing(kind, pipe, tmp_path, capsys):
    options, message = REFUSED[kind]
    out_json = tmp_path / "never.json"
    assert main(["timing", str(pipe), *options, "--json", str(out_json)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("dse: error: ") and error.endswith(f"{message}\n") and error.count("\n") == 1, error
    assert not out_json.exists()
