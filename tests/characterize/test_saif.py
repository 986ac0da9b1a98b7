"""SAIF activity: toggles and time at 1 per net, checked against our VCD and read by OpenSTA."""

from __future__ import annotations

import re
from itertools import pairwise

import numpy as np
import pytest

from characterize.netlist.ir import CONST_NAMES
from characterize.passes.designs import MultiplierSpec, reference_design
from characterize.timing.delays import annotate_delays
from characterize.timing.sim import simulate, timeline
from characterize.timing.vcd import write_vcd
from dse.cli import main
from tests.characterize.test_vcd import net_reference, read_dump


@pytest.fixture(scope="module")
def booth_run(library):
    timed = annotate_delays(reference_design(MultiplierSpec(4, True, "booth"), library))
    rng = np.random.default_rng(3)
    return timed, {"a": rng.integers(-8, 8, 120), "w": rng.integers(-8, 8, 120)}


def vcd_high_steps(path, netlist, end: int) -> np.ndarray:
    """Steps at 1 of every net in a VCD written by `write_vcd`, each net read from its wire, up to `end`."""
    dump = read_dump(path)
    high = np.zeros(len(netlist.nets), dtype=np.int64)
    for net in range(len(CONST_NAMES), len(netlist.nets)):
        changes = dump.bit_changes(net_reference(netlist, net)) + [(end, "0")]
        high[net] = sum(later - now for (now, bit), (later, _) in pairwise(changes) if bit == "1")
    return high


def test_timeline_matches_the_vcd_and_the_simulator(booth_run, tmp_path):
    timed, inputs = booth_run
    activity = timeline(timed, inputs)
    np.testing.assert_array_equal(activity.toggles, simulate(timed, inputs).toggles)
    write_vcd(timed, inputs, tmp_path / "run.vcd")
    expected = vcd_high_steps(tmp_path / "run.vcd", timed.netlist, activity.duration_steps)
    np.testing.assert_array_equal(activity.high_steps[len(CONST_NAMES):], expected[len(CONST_NAMES):])
    assert activity.duration_steps == 120 * (timed.settle_bound_steps + 1)
    assert 0 < activity.high_steps[len(CONST_NAMES):].max() < activity.duration_steps


def test_cli_writes_saif_with_the_toggle_counts(tmp_path, capsys):
    netlist, vectors = tmp_path / "m.v", tmp_path / "v.csv"
    assert main(["netlist", "--bits", "3", "-o", str(netlist)]) == 0
    rng = np.random.default_rng(0)
    vectors.write_text("a,w\n" + "".join(f"{a},{w}\n" for a, w in rng.integers(-4, 4, (40, 2))))
    saif, toggles = tmp_path / "run.saif", tmp_path / "toggles.csv"
    assert main(["simulate", str(netlist), "--inputs", str(vectors), "--toggles", str(toggles), "--saif", str(saif)]) == 0
    assert f"wrote {saif}" in capsys.readouterr().out
    text = saif.read_text()
    duration = int(re.search(r"\(DURATION (\d+)\)", text).group(1))
    top = text[: text.index("(INSTANCE", text.index("(INSTANCE") + 1)]
    entries = re.findall(r"\((\S+) \(T0 (\d+)\) \(T1 (\d+)\) \(TX 0\) \(TC (\d+)\)\)", top)
    counted = dict(line.split(",")[:2] for line in toggles.read_text().splitlines()[1:])
    assert len(entries) == len(counted)
    for name, t0, t1, tc in entries:
        assert int(t0) + int(t1) == duration
        assert int(tc) == int(counted[name.replace("\\", "")])
    assert text.count("(") == text.count(")")
