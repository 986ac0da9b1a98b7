"""`dse simulate`: toggles per net and the VCD's port bits equal Icarus Verilog's on the timed netlist it writes;
clear input errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from cells.default import load_library
from characterize.netlist.verilog import read_verilog
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, annotate_arc_delays, default_external_load
from characterize.timing.power import average_power
from characterize.timing.timed_verilog import module_name, run_iverilog, write_timed_verilog
from characterize.timing.vectors import simulate_vectors
from dse.cli import main
from tests.characterize.test_vcd import port_references, read_dump
from tests.conftest import require_tool


@pytest.fixture
def booth4(tmp_path):
    path = tmp_path / "booth4.v"
    assert main(["netlist", "--bits", "4", "--arch", "booth", "-o", str(path)]) == 0
    return path


def write_vectors(path, rows):
    path.write_text("a,w\n" + "".join(f"{a},{w}\n" for a, w in rows))


def test_toggles_agree_with_iverilog(booth4, tmp_path, capsys):
    require_tool("iverilog")
    rng = np.random.default_rng(5)
    rows = rng.integers(-8, 8, (200, 2))
    vectors = tmp_path / "vectors.csv"
    write_vectors(vectors, rows)
    toggles, timed_v, vcd = tmp_path / "toggles.csv", tmp_path / "timed.v", tmp_path / "run.vcd"
    assert main(["simulate", str(booth4), "--inputs", str(vectors), "--toggles", str(toggles),
                 "--timed-verilog", str(timed_v), "--vcd", str(vcd), "--period-ps", "4000"]) == 0
    ours = pd.read_csv(toggles).set_index("net")
    library = load_library()
    netlist = read_verilog(booth4, library)
    timed = annotate_arc_delays(calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, default_external_load(library)))
    assert timed_v.read_text() == write_timed_verilog(timed)
    period = round(4000e-12 / timed.resolution_s)  # the VCD spaces the vectors by the clock period
    reference = run_iverilog(timed, {"a": rows[:, 0], "w": rows[:, 1]}, tmp_path / "iverilog", period_steps=period)
    for net in range(2, len(netlist.nets)):
        assert ours.loc[netlist.nets[net], "toggles"] == reference.toggles[net], netlist.nets[net]
    assert ours["glitches"].sum() > 0
    theirs, waveform = read_dump(tmp_path / "iverilog" / "dump.vcd"), read_dump(vcd)
    for whole, bit_name, j in port_references(netlist, module_name(netlist)):
        expected = theirs.bit_changes(whole.replace(module_name(netlist), "tb.dut", 1), j, since=period)
        assert waveform.bit_changes(whole, j, since=period) == expected != []
        assert waveform.bit_changes(bit_name, since=period) == expected
    assert "sensitized delay" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content,message",
    [
        ("a,x\n1,2\n3,4\n", "header must name the input ports"),
        ("a,w\n1,2\n3,four\n", ":3: column w"),
        ("a,w\n1,2\n", "at least two vectors"),
        ("a,w\n1,2\n99,3\n", "bad.csv:3: port a = 99 is outside its range [-8, 15] (4 bits, signed or unsigned)"),
        ("a,w\n1,2\n3,-9\n", "bad.csv:3: port w = -9 is outside its range [-8, 15]"),
        ("a,w\n1,2\n3,\n", "bad.csv:3: column w: '' is not an integer"),  # the row and the cell as written
        ("a,w\n1,2\n1.5,3\n", "bad.csv:3: column a: '1.5' is not an integer"),
    ],
)
def test_bad_vectors_give_one_line(booth4, tmp_path, capsys, content, message):
    vectors = tmp_path / "bad.csv"
    vectors.write_text(content)
    assert main(["simulate", str(booth4), "--inputs", str(vectors), "--toggles", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


@pytest.mark.parametrize("options,message", [
    (["--vcd", "VCD", "--vcd-transitions", "0"], "--vcd-transitions must be at least 1"),
    (["--vcd", "TOGGLES"], "named twice"),
    (["--timed-verilog", "VECTORS"], "named twice"),
    (["--period-ps", "-5"], "--period-ps must be positive"),
])
def test_a_failing_command_leaves_existing_outputs_alone(booth4, tmp_path, capsys, options, message):
    vectors, toggles, vcd = tmp_path / "vectors.csv", tmp_path / "toggles.csv", tmp_path / "run.vcd"
    write_vectors(vectors, [(1, 2), (3, -4), (-8, 7)])
    toggles.write_text("old toggles\n")
    vcd.write_text("old vcd\n")
    names = {"VCD": str(vcd), "TOGGLES": str(toggles), "VECTORS": str(vectors)}
    options = [names.get(o, o) for o in options]
    assert main(["simulate", str(booth4), "--inputs", str(vectors), "--toggles", str(toggles), *options]) == 2
    assert message in capsys.readouterr().err
    assert toggles.read_text() == "old toggles\n" and vcd.read_text() == "old vcd\n"
    assert vectors.read_text().startswith("a,w\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["booth4.v", "run.vcd", "toggles.csv", "vectors.csv"]


def test_simulates_with_the_delays_of_an_sdf(booth4, tmp_path, capsys):
    rows = np.random.default_rng(3).integers(-8, 8, (50, 2))
    vectors = tmp_path / "vectors.csv"
    write_vectors(vectors, rows)
    sdf = tmp_path / "slow.sdf"
    assert main(["timing", str(booth4), "--sdf-out", str(sdf)]) == 0
    # every IOPATH ten times slower: the simulated delays follow the file
    text = sdf.read_text()
    slow = re.sub(r"\(IOPATH (.*?) \(([0-9.]+):[0-9.]+:[0-9.]+\) \(([0-9.]+):[0-9.]+:[0-9.]+\)\)",
                  lambda m: f"(IOPATH {m.group(1)} ({float(m.group(2)) * 10}) ({float(m.group(3)) * 10}))", text)
    assert slow != text
    sdf.write_text(slow)
    capsys.readouterr()
    assert main(["simulate", str(booth4), "--inputs", str(vectors), "--toggles", str(tmp_path / "a.csv")]) == 0
    normal = capsys.readouterr().out
    assert main(["simulate", str(booth4), "--inputs", str(vectors), "--toggles", str(tmp_path / "b.csv"),
                 "--sdf", str(sdf)]) == 0
    slowed = capsys.readouterr().out

    def critical(out):
        return float(re.search(r"critical \(STA\) (\d+) ps", out).group(1))

    assert critical(slowed) > 5 * critical(normal)


def test_simulate_vectors_figures_at_a_period(booth4, tmp_path):
    """The library call behind `dse simulate`: power over the period, late transitions, VCD spacing."""
    vectors = tmp_path / "vectors.csv"
    write_vectors(vectors, [(0, 0), (7, -8), (-8, 7), (3, 3)])
    free = simulate_vectors(booth4, vectors)
    assert free.period_s is None and free.average_power_w is None and free.result.transitions == 3
    assert free.energy_per_transition_j == pytest.approx(free.energy.dynamic_j.mean(), rel=1e-12, abs=0)
    tight = simulate_vectors(booth4, vectors, period_s=1e-12)
    assert tight.late_transitions == int((tight.result.settle_steps > 1).sum()) > 0
    assert tight.vcd_period_steps is None
    loose = simulate_vectors(booth4, vectors, period_s=1e-6)
    assert loose.late_transitions == 0 and loose.vcd_period_steps == 1_000_000
    leakage_j = loose.energy.model.leakage_power_w * 1e-6
    assert leakage_j > 0
    assert loose.average_power_w == pytest.approx(average_power(loose.energy_per_transition_j + leakage_j, 1e-6), rel=1e-12, abs=0)


def test_jobs_split_the_transitions_with_the_results_of_one(booth4, tmp_path, capsys):
    """--jobs 3 runs chunks of 6,000 transitions on threads: the same toggles file and the same report as --jobs 1."""
    rows = np.random.default_rng(8).integers(-8, 8, (6001, 2))
    vectors = tmp_path / "vectors.csv"
    write_vectors(vectors, rows)
    outputs = {}
    for jobs in ("1", "3"):
        toggles = tmp_path / f"toggles{jobs}.csv"
        assert main(["simulate", str(booth4), "--inputs", str(vectors), "--toggles", str(toggles), "--jobs", jobs]) == 0
        outputs[jobs] = (toggles.read_text(), capsys.readouterr().out.replace(toggles.name, "toggles.csv"))
    assert outputs["1"] == outputs["3"]
    assert "glitches" in outputs["1"][1] and int(pd.read_csv(tmp_path / "toggles1.csv")["glitches"].sum()) > 0
