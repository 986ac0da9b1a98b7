"""Per-arc delays in the timing simulator: the path-delay semantics by hand, and exact agreement with Icarus
Verilog's specify paths (toggles per net, last output event, VCD events) on random netlists, random arc delays
with many ties, and multipliers timed by the delay calculation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from characterize.netlist.builder import NetlistBuilder
from characterize.passes.designs import MultiplierSpec, embedded_design, reference_design
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.delays import NO_ARC, TimedGates, annotate_arc_delays, annotate_delays
from characterize.timing.sim import simulate
from characterize.timing.sta import critical_path
from characterize.timing.timed_verilog import write_timed_verilog
from tests.characterize.test_sim import (  # noqa: F401 (fixtures of the hand-made cases)
    X_CHANGES,
    assert_matches_iverilog,
    assert_vcd_matches_iverilog,
    filtered,
    glitch,
    random_netlist,
    tie,
)


def as_arcs(timed: TimedGates, rng: np.random.Generator | None = None, high: int = 0) -> TimedGates:
    """`timed` with arc delays: each pin its gate's delays, or random ones in [1, high) per pin and edge pair."""
    shape = (*timed.gate_inputs.shape, 2)
    if rng is None:
        rise = np.broadcast_to(timed.rise_steps[:, None, None], shape)
        fall = np.broadcast_to(timed.fall_steps[:, None, None], shape)
    else:
        rise, fall = rng.integers(1, high, shape), rng.integers(1, high, shape)
    connected = (timed.gate_inputs >= 0)[:, :, None]
    rise, fall = np.where(connected, rise, NO_ARC), np.where(connected, fall, NO_ARC)
    return dataclasses.replace(timed, arc_rise_steps=rise, arc_fall_steps=fall,
                               rise_steps=np.where(connected, rise, 1).max(axis=(1, 2), initial=1),
                               fall_steps=np.where(connected, fall, 1).max(axis=(1, 2), initial=1))


@pytest.fixture
def or_gate(library) -> tuple[TimedGates, int]:
    """y = x[0] OR x[1]; from x[0] rise 10 and fall 12 steps, from x[1] rise 3 and fall 5."""
    b = NetlistBuilder("or_gate", library)
    x = b.input("x", 2)
    y = b.gate("OR2", x[0], x[1])
    b.output("y", [y])
    timed = as_arcs(annotate_delays(b.build()))
    rise, fall = timed.arc_rise_steps.copy(), timed.arc_fall_steps.copy()
    for pin, net in enumerate(timed.gate_inputs[0]):
        rise[0, pin], fall[0, pin] = (10, 12) if net == x[0] else (3, 5)  # both input edges
    return dataclasses.replace(timed, arc_rise_steps=rise, arc_fall_steps=fall), y


def test_the_delay_is_the_arc_of_the_input_that_changed(or_gate):
    timed, _ = or_gate
    # 0->1: x0 rises (10); 1->0: x0 falls (12); 0->3: both rise, the smaller arc (3); 3->2: no output change;
    # 2->0: x1 falls (5)
    result = simulate(timed, {"x": np.array([0, 1, 0, 3, 2, 0])})
    np.testing.assert_array_equal(result.sensitized_delay_steps, [10, 12, 3, 0, 5])


def test_a_pulse_shorter_than_its_leading_arc_is_filtered(library):
    """x AND NOT x through an inverter of 6 steps: the AND sees a 6-step pulse; arc delays 5 pass it, 7 filter it."""
    outputs = {}
    for and_delay in (5, 6, 7):
        b = NetlistBuilder("pulse", library)
        (x,) = b.input("x", 1)
        y = b.gate("AND2", x, b.gate("INV", x))
        b.output("y", [y])
        timed = annotate_delays(b.build())
        timed = as_arcs(dataclasses.replace(timed, rise_steps=np.array([6, and_delay]), fall_steps=np.array([6, and_delay])))
        outputs[and_delay] = int(simulate(timed, {"x": np.array([0, 1])}).toggles[y])
    # the sample due when the pulse ends still sees it (samples come before the step's evaluations)
    assert outputs == {5: 2, 6: 2, 7: 0}


@pytest.mark.tools
@pytest.mark.parametrize("case", ["glitch", "filtered", "tie"])
def test_hand_made_cases_with_arc_delays_match_iverilog(case, request, tmp_path):
    timed, _ = request.getfixturevalue(case)
    assert_matches_iverilog(as_arcs(timed), X_CHANGES, tmp_path)


@pytest.mark.tools
def test_or_gate_matches_iverilog(or_gate, tmp_path):
    timed, _ = or_gate
    assert_matches_iverilog(timed, {"x": np.array([0, 1, 0, 3, 2, 0, 3, 1, 2, 3, 0])}, tmp_path)


@pytest.mark.tools
@pytest.mark.parametrize("seed,high", [(0, 4), (1, 12), (2, 60)])
def test_random_netlists_with_random_arc_delays_match_iverilog(library, seed, high, tmp_path):
    # delays of 1 to 3 steps make ties between samples, input changes and simultaneous pin changes frequent
    rng = np.random.default_rng(seed)
    timed = as_arcs(annotate_delays(random_netlist(library, seed, gates=200)), rng, high)
    assert_matches_iverilog(timed, {"x": rng.integers(0, 1 << 12, 301)}, tmp_path)


@pytest.mark.tools
@pytest.mark.parametrize("arch,weight", [("booth", None), ("array", 27), ("wallace", None)])
def test_multipliers_timed_by_the_delay_calculation_match_iverilog(library, arch, weight, tmp_path):
    spec = MultiplierSpec(6, True, arch)
    netlist = reference_design(spec, library)
    if weight is not None:
        netlist = embedded_design(netlist, spec, weight)
    timed = annotate_arc_delays(calculate_delays(netlist, 40e-12, 2.3e-15))
    rng = np.random.default_rng(6)
    inputs = {"a": rng.integers(-32, 32, 301)}
    if weight is None:
        inputs["w"] = rng.integers(-32, 32, 301)
    assert_matches_iverilog(timed, inputs, tmp_path)


@pytest.mark.tools
def test_vcd_events_with_arc_delays_match_iverilog(library, tmp_path):
    rng = np.random.default_rng(11)
    timed = as_arcs(annotate_delays(random_netlist(library, 11, gates=120)), rng, 30)
    assert_vcd_matches_iverilog(timed, {"x": rng.integers(0, 1 << 12, 31)}, tmp_path)


def test_arc_delays_follow_the_delay_calculation(library):
    netlist = reference_design(MultiplierSpec(4, True, "booth"), library)
    calc = calculate_delays(netlist, 40e-12, 2.3e-15)
    timed = annotate_arc_delays(calc)
    arc = max(calc.arcs, key=lambda a: a.delay_s)
    pin = library.cells[netlist.instances[arc.instance].cell].inputs.index(arc.from_pin)
    net = netlist.instances[arc.instance].outputs[library.cells[netlist.instances[arc.instance].cell].outputs.index(arc.to_pin)]
    g = int(np.flatnonzero(timed.gate_output == net)[0])
    steps = (timed.arc_rise_steps if arc.to_edge == 0 else timed.arc_fall_steps)[g, pin, arc.from_edge]
    assert steps >= round((arc.delay_s + calc.sink_delay_s[(arc.instance, pin)][arc.from_edge]) / 1e-12)
    text = write_timed_verilog(timed)
    assert "specify" in text and "assign #(" not in text
    # the static timing of the arc delays bounds every sensitized delay and is near the delay calculation's path
    rng = np.random.default_rng(4)
    result = simulate(timed, {"a": rng.integers(-8, 8, 2000), "w": rng.integers(-8, 8, 2000)})
    bound = critical_path(calc).critical_delay_s / 1e-12
    assert result.sensitized_delay_steps.max() <= bound + len(netlist.instances)
