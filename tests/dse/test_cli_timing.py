"""`dse timing`: the critical path printed and as JSON, SDF written and read back, one line for a bad SDF."""

from __future__ import annotations

import json

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
