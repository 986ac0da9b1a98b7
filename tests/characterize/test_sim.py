"""Timing simulation: delays from the library, hand-made glitch / filter / tie cases, and exact agreement with
Icarus Verilog (toggles per net and last output event per transition) on random netlists and multipliers."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from characterize.errors import SimulationError
from characterize.netlist.builder import NetlistBuilder
from characterize.netlist.ir import Netlist
from characterize.netlist.logic import net_values
from characterize.netlist.techmap import ROLES
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, TimedGates, annotate_delays, default_external_load
from characterize.timing.sim import simulate
from characterize.timing.timed_verilog import run_iverilog, write_timed_verilog
from characterize.timing.vcd import write_vcd
from tests.conftest import require_tool


def with_delays(timed: TimedGates, delays: dict[int, tuple[int, int]]) -> TimedGates:
    """`timed` with the (rise, fall) steps of the gates driving the given nets replaced."""
    rise, fall = timed.rise_steps.copy(), timed.fall_steps.copy()
    for net, (r, f) in delays.items():
        g = int(np.flatnonzero(timed.gate_output == net)[0])
        rise[g], fall[g] = r, f
    return dataclasses.replace(timed, rise_steps=rise, fall_steps=fall)


def assert_matches_iverilog(timed: TimedGates, inputs: dict[str, np.ndarray], workdir: Path) -> None:
    require_tool("iverilog")
    require_tool("vvp")
    ours = simulate(timed, inputs)
    reference = run_iverilog(timed, inputs, workdir)
    differing = np.flatnonzero(ours.toggles != reference.toggles)
    assert differing.size == 0, [(timed.netlist.nets[n], ours.toggles[n], reference.toggles[n]) for n in differing[:5]]
    np.testing.assert_array_equal(ours.sensitized_delay_steps, reference.sensitized_delay_steps)


def random_netlist(library, seed: int, gates: int = 300, width: int = 12) -> Netlist:
    """A random DAG of every generator role, mostly local connections (deep paths), a few constant inputs."""
    rng = np.random.default_rng(seed)
    builder = NetlistBuilder(f"random{seed}", library)
    nets = list(builder.input("x", width))
    roles = sorted(ROLES)
    for _ in range(gates):
        role = roles[rng.integers(len(roles))]
        arity = len({c for f in ROLES[role] for c in f if c in "ABCD"})
        inputs = []
        for _ in range(arity):
            u = rng.random()
            if u < 0.03:
                inputs.append(int(rng.integers(2)))
            elif u < 0.7:
                inputs.append(nets[-1 - int(rng.integers(min(30, len(nets))))])
            else:
                inputs.append(nets[int(rng.integers(len(nets)))])
        out = builder.gate(role, *inputs)
        nets.extend(out if isinstance(out, tuple) else [out])
    builder.output("y", nets[-20:] + [nets[3], 0])
    return builder.build()


# ------------------------------------------------------------------ hand-made cases
@pytest.fixture
def glitch(library) -> tuple[TimedGates, int]:
    """y = x XOR x delayed by two inverters (20 steps each), XOR delay 10: a pulse at every change of x."""
    b = NetlistBuilder("glitch", library)
    (x,) = b.input("x", 1)
    n1 = b.gate("INV", x)
    n2 = b.gate("INV", n1)
    y = b.gate("XOR2", x, n2)
    b.output("y", [y])
    return with_delays(annotate_delays(b.build()), {n1: (20, 20), n2: (20, 20), y: (10, 10)}), y


@pytest.fixture
def filtered(library) -> tuple[TimedGates, list[int]]:
    """x AND NOT x (inverter 5, AND 20) and x XOR x through two inverters (3 + 3, XOR 10): pulses too short."""
    b = NetlistBuilder("filtered", library)
    (x,) = b.input("x", 1)
    n1 = b.gate("INV", x)
    y0 = b.gate("AND2", x, n1)
    n2 = b.gate("INV", x)
    n3 = b.gate("INV", n2)
    y1 = b.gate("XOR2", x, n3)
    b.output("y", [y0, y1])
    delays = {n1: (5, 5), y0: (20, 20), n2: (3, 3), n3: (3, 3), y1: (10, 10)}
    return with_delays(annotate_delays(b.build()), delays), [y0, y1]


@pytest.fixture
def tie(library) -> tuple[TimedGates, list[int]]:
    """x AND NOT x, AND rise 10 and fall 7, inverter fall 9, 10 (the tie) and 11 steps."""
    b = NetlistBuilder("tie", library)
    (x,) = b.input("x", 1)
    outputs, delays = [], {}
    for inverter_fall in (9, 10, 11):
        n = b.gate("INV", x)
        y = b.gate("AND2", x, n)
        outputs.append(y)
        delays.update({n: (5, inverter_fall), y: (10, 7)})
    b.output("y", outputs)
    return with_delays(annotate_delays(b.build()), delays), outputs


X_CHANGES = {"x": np.array([0, 1, 0, 1, 1, 0])}


def test_glitch_pulse_on_every_change(glitch):
    timed, y = glitch
    result = simulate(timed, X_CHANGES)
    assert result.toggles[y] == 8 and result.settled_changes[y] == 0 and result.glitches[y] == 8
    np.testing.assert_array_equal(result.sensitized_delay_steps, [50, 50, 50, 0, 50])


def test_pulses_shorter_than_a_gate_delay_are_filtered(filtered):
    timed, outputs = filtered
    result = simulate(timed, X_CHANGES)
    assert result.toggles[outputs].tolist() == [0, 0]
    np.testing.assert_array_equal(result.sensitized_delay_steps, 0)


def test_update_due_with_an_input_change_still_fires(tie):
    timed, (early, tied, late) = tie
    result = simulate(timed, X_CHANGES)
    # two rising edges of x: no pulse when the inverter is faster, a pulse of one fall delay on a tie
    assert result.toggles[[early, tied, late]].tolist() == [0, 4, 4]
    np.testing.assert_array_equal(result.sensitized_delay_steps, [18, 0, 18, 0, 0])


@pytest.mark.tools
@pytest.mark.parametrize("case", ["glitch", "filtered", "tie"])
def test_hand_made_cases_match_iverilog(case, request, tmp_path):
    timed, _ = request.getfixturevalue(case)
    assert_matches_iverilog(timed, X_CHANGES, tmp_path)


# ------------------------------------------------------------- against iverilog
@pytest.mark.tools
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("resolution", [1e-12, 1e-10])
def test_random_netlists_match_iverilog(library, seed, resolution, tmp_path):
    # At 100 ps steps most delays collide, so ties between updates and input changes are frequent.
    timed = annotate_delays(random_netlist(library, seed), resolution=resolution)
    x = np.random.default_rng(seed).integers(0, 1 << 12, 301)
    assert_matches_iverilog(timed, {"x": x}, tmp_path)


@pytest.mark.tools
@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("arch", ["booth", "array"])
def test_multipliers_with_stationary_weight_match_iverilog(library, bits, arch, tmp_path):
    generators = pytest.importorskip("characterize.generators", reason="the multiplier generators are absent")
    timed = annotate_delays(generators.multiplier(bits, True, arch, "ripple", library))
    rng = np.random.default_rng(bits)
    half = 1 << (bits - 1)
    a = rng.integers(-half, half, 201)
    assert_matches_iverilog(timed, {"a": a, "w": np.full(201, -half + 3)}, tmp_path)


def vcd_changes(path: Path, netlist: Netlist, since: int) -> set[tuple[int, int, str]]:
    """(time, net, value) of every scalar change from time `since` on; a wire `\\y[0]` or `y [0]` is net `y[0]`."""
    nets = {name: n for n, name in enumerate(netlist.nets)}
    codes, changes, now = {}, set(), 0
    for line in path.read_text().splitlines():
        if line.startswith("$var"):
            _, _, size, code, *reference = line.split()[:-1]
            name = "".join(reference).lstrip("\\")
            if size == "1" and name in nets:
                codes[code] = nets[name]
        elif line.startswith("#"):
            now = int(line[1:])
        elif line[:1] in ("0", "1") and line[1:] in codes and now >= since:
            changes.add((now, codes[line[1:]], line[0]))
    return changes


@pytest.mark.tools
def test_vcd_events_match_iverilog(library, tmp_path):
    timed = annotate_delays(random_netlist(library, 5, gates=120), resolution=1e-11)
    assert_vcd_matches_iverilog(timed, {"x": np.random.default_rng(5).integers(0, 1 << 12, 31)}, tmp_path)


def assert_vcd_matches_iverilog(timed, inputs: dict, tmp_path: Path) -> None:
    """Our VCD's scalar changes after the first vector settle equal Icarus's on the timed netlist (over 100)."""
    period = timed.settle_bound_steps + 1
    require_tool("iverilog")
    run_iverilog(timed, inputs, tmp_path / "icarus")
    ours = write_vcd(timed, inputs, tmp_path / "ours.vcd")
    theirs = vcd_changes(tmp_path / "icarus" / "dump.vcd", timed.netlist, period)
    assert len(theirs) > 100 and vcd_changes(ours, timed.netlist, period) == theirs


@pytest.mark.tools
def test_toggles_counted_in_the_testbench_agree(random_run, tmp_path):
    require_tool("iverilog")
    timed, inputs = random_run
    counted = run_iverilog(timed, inputs, tmp_path, vcd=False)
    assert counted.sensitized_delay_steps is None
    np.testing.assert_array_equal(counted.toggles, simulate(timed, inputs).toggles)


# ------------------------------------------------------------ results and options
@pytest.fixture(scope="module")
def random_run(library):
    timed = annotate_delays(random_netlist(library, 7))
    x = np.random.default_rng(7).integers(0, 1 << 12, 201)
    return timed, {"x": x}


@pytest.fixture(scope="module")
def repeated_run(library):
    """Few distinct vectors, so most transitions repeat and are simulated once."""
    timed = annotate_delays(random_netlist(library, 9), resolution=1e-11)
    x = np.random.default_rng(9).choice([5, 77, 1234, 2048, 4000], 401)
    return timed, {"x": x}


@pytest.mark.tools
def test_repeated_transitions_match_iverilog(repeated_run, tmp_path):
    timed, inputs = repeated_run
    assert_matches_iverilog(timed, inputs, tmp_path)


def test_repeated_transitions_give_each_transition_its_own_results(repeated_run):
    timed, inputs = repeated_run
    weights = np.random.default_rng(1).random(timed.net_count)
    merged = simulate(timed, inputs, per_transition=True, net_weights=weights)
    np.testing.assert_array_equal(merged.toggles_per_transition.sum(axis=0), merged.toggles)
    for i in range(0, 400, 7):
        alone = simulate(timed, {"x": inputs["x"][i : i + 2]}, per_transition=True, net_weights=weights)
        np.testing.assert_array_equal(merged.toggles_per_transition[i], alone.toggles_per_transition[0])
        assert merged.sensitized_delay_steps[i] == alone.sensitized_delay_steps[0]
        assert merged.weighted_toggles[i] == pytest.approx(alone.weighted_toggles[0])


def test_settled_changes_are_the_zero_delay_changes(random_run):
    timed, inputs = random_run
    result = simulate(timed, inputs)
    values = net_values(timed.netlist, inputs)
    np.testing.assert_array_equal(result.settled_changes, (values[:, 1:] != values[:, :-1]).sum(axis=1))
    assert (result.glitches >= 0).all() and result.glitches.sum() > 0


def test_transitions_are_independent(random_run):
    timed, inputs = random_run
    whole = simulate(timed, inputs, per_transition=True)
    part = simulate(timed, {"x": inputs["x"][50:81]}, per_transition=True)
    np.testing.assert_array_equal(part.toggles_per_transition, whole.toggles_per_transition[50:80])
    np.testing.assert_array_equal(part.sensitized_delay_steps, whole.sensitized_delay_steps[50:80])


def test_per_transition_toggles_and_weights(random_run):
    timed, inputs = random_run
    rng = np.random.default_rng(0)
    weights = rng.random((2, timed.net_count))
    result = simulate(timed, inputs, per_transition=True, net_weights=weights)
    per = result.toggles_per_transition
    assert per.shape == (200, timed.net_count)
    np.testing.assert_array_equal(per.sum(axis=0), result.toggles)
    values = net_values(timed.netlist, inputs).astype(np.int64)
    rises = (per + (values[:, 1:] - values[:, :-1]).T) // 2  # on one net rises and falls alternate
    expected = rises @ weights[0] + (per - rises) @ weights[1]
    np.testing.assert_allclose(result.weighted_toggles, expected)
    same = simulate(timed, inputs, net_weights=weights[0])
    np.testing.assert_allclose(same.weighted_toggles, per @ weights[0])
    assert result.settle_steps.max() <= timed.settle_bound_steps
    assert (result.sensitized_delay_steps <= result.settle_steps).all()


def test_bad_inputs_are_reported(random_run):
    timed, inputs = random_run
    with pytest.raises(SimulationError, match="missing"):
        simulate(timed, {"y": inputs["x"]})
    with pytest.raises(SimulationError, match="at least 2"):
        simulate(timed, {"x": inputs["x"][:1]})
    with pytest.raises(SimulationError, match="net_weights"):
        simulate(timed, inputs, net_weights=np.ones(3))
    beyond = inputs["x"].copy()
    beyond[5] = 1 << 12  # one past a 12-bit port's range; its bits would wrap to 0
    with pytest.raises(SimulationError, match=r"inputs: vector 5: port x = 4096 is outside its range \[-2048, 4095\]"):
        simulate(timed, {"x": beyond})


# ---------------------------------------------------------------------- delays
def test_delays_follow_the_library(library):
    b = NetlistBuilder("fa", library)
    a = b.input("a", 3)
    s, c = b.gate("FA", *a)
    y = b.gate("INV", s)
    b.output("y", [y, c])
    netlist = b.build()
    timed = annotate_delays(netlist)
    assert timed.gate_count == 3  # the full adder is one gate per output
    fa = netlist.instances[0]
    assert sorted(timed.gate_output[timed.gate_instance == 0]) == sorted(fa.outputs)
    for g in range(timed.gate_count):  # topological: every input is a port bit or an earlier gate's output
        assert all(n < 2 or n in timed.input_nets or n in timed.gate_output[:g] for n in timed.gate_inputs[g] if n >= 0)
    inverter = library.cells["sky130_fd_sc_hd__inv_1"]
    assert default_external_load(library) == inverter.capacitance["A"]
    load = netlist.load_capacitance(default_external_load(library))
    cell = library.cells[fa.cell]
    sum_pin = cell.outputs[fa.outputs.index(s)]
    expected = max(arc.cell_rise.lookup(DEFAULT_INPUT_SLEW_S, load[s]) for arc in cell.arcs_to(sum_pin))
    g = int(np.flatnonzero(timed.gate_output == s)[0])
    assert timed.rise_steps[g] == round(expected / 1e-12)
    coarse = annotate_delays(netlist, resolution=1e-8)
    assert (coarse.rise_steps == 1).all() and (coarse.fall_steps == 1).all()


def test_timed_verilog_is_one_delayed_assignment_per_gate(glitch):
    timed, _ = glitch
    text = write_timed_verilog(timed)
    assert text.startswith("`timescale 1ps/1ps")
    assert text.count("assign #(") == timed.gate_count
    assert "assign #(10, 10) \\y[0]  = 4'b0110 >>" in text


def test_vcd_of_chosen_transitions(glitch, tmp_path):
    timed, _ = glitch
    path = write_vcd(timed, X_CHANGES, tmp_path / "glitch.vcd", transitions=[1, 2, 4], period_steps=100)
    text = path.read_text()
    assert "$timescale 1 ps $end" in text and "$enddefinitions $end" in text
    assert re.search(r"^\$var wire 1 \S+ x\[0\] \$end$", text, re.MULTILINE)
    times = [int(line[1:]) for line in text.splitlines() if line.startswith("#")]
    assert times == sorted(times)
    # transition 1 (x 1 -> 0) runs from 200: x at 200, y up at 210 and down at 250, inverters at 220 and 240
    assert {200, 210, 220, 240, 250, 300, 310, 350, 500, 510, 550} <= set(times)
    with pytest.raises(SimulationError):
        write_vcd(timed, X_CHANGES, tmp_path / "bad.vcd", transitions=[5])

