"""`dse timing`: the critical path printed and as JSON, SDF written and read back, one line for a bad SDF."""

from __future__ import annotations

import json
import re

import pytest

from dse.cli import main


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
