"""The systolic-array processing element: structure, exact clocked timing against Icarus, its LUT."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cells.default import default_library_path
from characterize.netlist.verilog import write_verilog
from characterize.passes.designs import MultiplierSpec, pe_design, reference_design
from characterize.timing.clocked import annotate_registers, simulate_clocked
from characterize.timing.clocked_verilog import run_iverilog_clocked
from characterize.timing.sequential_sta import sequential_timing
from dse.cli import main
from tests.characterize.test_clocked import opensta_period_ps
from tests.conftest import require_tool

SPEC = MultiplierSpec(4, True, "booth", "ripple", 12, pe=True)


@pytest.fixture(scope="module")
def stationary(library):
    return reference_design(SPEC, library)


def test_ports_and_registers(stationary, library):
    assert [(p.name, p.direction, p.width) for p in stationary.ports] == [
        ("clk", "input", 1), ("w", "input", 4), ("a", "input", 4), ("psum_in", "input", 12),
        ("a_out", "output", 4), ("psum_out", "output", 12)]
    names = [i.name for i in stationary.instances if library.cells[i.cell].sequential]
    assert len(names) == 4 + 4 + 12 and {n.rstrip("0123456789") for n in names} == {"w_reg", "a_reg", "psum_reg"}
    embedded = pe_design(SPEC, library, weight=-3)
    assert "w" not in [p.name for p in embedded.ports] and embedded.area < stationary.area


@pytest.mark.parametrize("weight", [None, -3])
def test_pe_agrees_with_iverilog_at_its_minimum_period(stationary, library, tmp_path, weight):
    require_tool("iverilog")
    design = stationary if weight is None else pe_design(SPEC, library, weight=weight)
    clocked = annotate_registers(design, "clk")
    period = int(np.ceil(sequential_timing(clocked).min_period_ps))
    rng = np.random.default_rng(7)
    inputs = {"a": rng.integers(-8, 8, 150), "psum_in": rng.integers(-2048, 2048, 150)}
    if weight is None:
        inputs["w"] = np.full(150, 5)
    ours = simulate_clocked(clocked, inputs, period)
    reference = run_iverilog_clocked(clocked, inputs, period, tmp_path)
    np.testing.assert_array_equal(ours.toggles, reference.toggles)
    np.testing.assert_array_equal(ours.last_output_event_steps, reference.last_output_event_steps)
    assert ours.races == 0  # the STA period leaves no register sampling a changing input


@pytest.mark.parametrize("weight", [None, -3])
def test_pe_period_equals_opensta(stationary, library, tmp_path, weight):
    """Per-arc delays at propagated slews, clock-to-output and setup tables at the pins' slews: OpenSTA's period."""
    require_tool("sta")
    design = stationary if weight is None else pe_design(SPEC, library, weight=weight)
    path = tmp_path / "pe.v"
    path.write_text(write_verilog(design))
    clocked = annotate_registers(design, "clk")
    period, hold = opensta_period_ps(default_library_path(), path, design.name, clocked, tmp_path)
    ours = sequential_timing(clocked, input_arrival=0.0)
    assert abs(ours.min_period_ps / period - 1) < 0.001 and abs(ours.hold_slack_ps - hold) < 5
    assert ours.critical.path[0] == "clk rise" and ours.critical.endpoint.startswith("psum_reg")


def test_characterize_pe_lut(tmp_path):
    out = tmp_path / "pe.csv"
    argv = ["characterize", "--pe", "--bits", "4", "--arch", "booth", "--acc-bits", "12", "--mode", "embedded",
            "--weights=-2:1", "--vectors", "200", "--cache", str(tmp_path / "cache"), "-o", str(out)]
    assert main(argv) == 0
    lut = pd.read_csv(out)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["generator"]["design"] == "processing element" and meta["generator"]["acc_bits"] == 12
    rows = lut[lut["weight"].notna()].set_index("weight")
    reference = lut[lut["weight"].isna()].iloc[0]
    assert (rows["area_um2"] < reference["area_um2"]).all()
    assert ((rows["mac_energy_share"] >= 0) & (rows["mac_energy_share"] < 1)).all()
    assert (rows["clock_energy_share"] > 0.1).all()
    assert rows.loc[0, "mac_area_um2"] == 0.0 and rows.loc[0, "energy_per_op_fJ"] > 0  # w=0: registers still clock
    assert meta["period_ps"] == pytest.approx(reference["critical_delay_ps"], abs=1)


@pytest.mark.parametrize(
    "options,message",
    [(["--pe", "--mac", "12"], "--pe has its own accumulator"), (["--acc-bits", "12"], "--acc-bits is the partial-sum width")],
)
def test_pe_option_errors(tmp_path, capsys, options, message):
    out = tmp_path / "pe.v"
    assert main(["netlist", "--bits", "4", *options, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and not out.exists()


def test_pe_as_a_user_netlist_gives_the_same_lut(tmp_path, capsys):
    """The PE written out and characterized as a clocked user netlist equals the built-in --pe sweep (stationary);
    embedded, the weight register goes and each weight's logic between the registers is checked."""
    netlist = tmp_path / "pe4.v"
    assert main(["netlist", "--pe", "--bits", "4", "--acc-bits", "12", "-o", str(netlist)]) == 0
    common = ["--mode", "stationary", "--weights=-2:1", "--vectors", "150", "--cache", str(tmp_path / "cache")]
    assert main(["characterize", "--netlist", str(netlist), "--clock", "clk", *common, "-o", str(tmp_path / "n.csv")]) == 0
    assert main(["characterize", "--pe", "--bits", "4", "--acc-bits", "12", *common, "-o", str(tmp_path / "g.csv")]) == 0
    mine, built = pd.read_csv(tmp_path / "n.csv"), pd.read_csv(tmp_path / "g.csv")
    columns = ["weight", "cells", "area_um2", "critical_delay_ps", "energy_per_op_fJ", "toggles_per_op", "glitches_per_op"]
    pd.testing.assert_frame_equal(mine[columns], built[columns])
    capsys.readouterr()
    embedded = ["--mode", "embedded", "--weights=-2:1", "--vectors", "150", "--cache", str(tmp_path / "cache")]
    assert main(["characterize", "--netlist", str(netlist), "--clock", "clk", *embedded, "-o", str(tmp_path / "e.csv")]) == 0
    rows = pd.read_csv(tmp_path / "e.csv").set_index("weight", drop=False)
    assert (rows["area_um2"].iloc[1:] < mine["area_um2"].iloc[0]).all() and (rows["energy_per_op_fJ"] > 0).all()
    meta = json.loads((tmp_path / "e.json").read_text())["generator"]
    assert meta["clock"] == "clk" and meta["equivalence"].startswith("4096 random vectors (seed 0) over 37 input bits")
    assert main(["characterize", "--netlist", str(netlist), "--mode", "stationary", "-o", str(tmp_path / "n2.csv")]) == 2
    assert "the netlist has 20 flip-flops; name the clock port with --clock" in capsys.readouterr().err
    assert not (tmp_path / "n2.csv").exists()
