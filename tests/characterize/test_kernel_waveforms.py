"""The kernel computes each net's waveform gate by gate; here a plain event-driven simulation of DESIGN.md's rules
(a calendar of time steps, every gate with a changed input evaluated once per step) must give the very same changes
(time and net), toggles, delays and energy on random netlists with glitches, for both delay semantics."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from characterize.netlist.ir import CONST1
from characterize.timing.delays import TimedGates, annotate_delays
from characterize.timing.kernel import KernelCircuit, run_transitions
from tests.characterize.test_sim import random_netlist
from tests.characterize.test_sim_arcs import as_arcs


def settled(timed: TimedGates, bits: np.ndarray) -> np.ndarray:
    """Net values of the settled state of input `bits` (gates are in topological order)."""
    values = np.zeros(timed.net_count, dtype=np.int64)
    values[CONST1] = 1
    values[timed.input_nets] = bits
    for g in range(timed.gate_count):
        values[timed.gate_output[g]] = function(timed, g, values)
    return values


def function(timed: TimedGates, g: int, values: np.ndarray) -> int:
    index = sum(int(values[net]) << j for j, net in enumerate(timed.gate_inputs[g]) if net >= 0)
    return (int(timed.gate_table[g]) >> index) & 1


def event_driven(timed: TimedGates, start: np.ndarray, end: np.ndarray) -> list[tuple[int, int]]:
    """(time, net) of every change of the transition start -> end, by time steps in order."""
    values = settled(timed, start)
    readers = defaultdict(list)
    for g, row in enumerate(timed.gate_inputs):
        for j, net in enumerate(row):
            if net >= 0:
                readers[int(net)].append((g, j))
    internal = {g: function(timed, g, values) for g in range(timed.gate_count)}  # arc delays: f
    pending: dict[int, int] = {}  # gate delays: the one pending update per gate
    calendar: dict[int, list[int]] = defaultdict(list)  # time -> gates with an update or sample due
    changes = [(0, int(net)) for net, bit in zip(timed.input_nets, end) if values[net] != bit]
    step = [net for _, net in changes]
    values[timed.input_nets] = end
    t = 0
    while True:
        pins = defaultdict(int)
        for net in step:
            for g, j in readers[net]:
                pins[g] |= 1 << j
        for g in sorted(pins):
            new = function(timed, g, values)
            if timed.per_arc:
                if new == internal[g]:
                    continue
                internal[g] = new
                delays = [(timed.arc_rise_steps if new else timed.arc_fall_steps)[g, j, 1 - values[timed.gate_inputs[g, j]]]
                          for j in range(len(timed.gate_inputs[g])) if pins[g] >> j & 1]
                calendar[t + int(min(delays))].append(g)
            else:
                present = values[timed.gate_output[g]]
                if g in pending and new == present:
                    calendar[pending.pop(g)].remove(g)
                elif g not in pending and new != present:
                    pending[g] = t + int(timed.rise_steps[g] if new else timed.fall_steps[g])
                    calendar[pending[g]].append(g)
        due = [time for time, gates in calendar.items() if gates]
        if not due:
            return changes
        t = min(due)
        step = []
        for g in dict.fromkeys(calendar.pop(t)):
            pending.pop(g, None)
            net = int(timed.gate_output[g])
            new = internal[g] if timed.per_arc else 1 - values[net]
            if new != values[net]:
                values[net] = new
                step.append(net)
                changes.append((t, net))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("delays", ["gate", "arc", "random arcs"])
def test_waveforms_equal_the_event_driven_rules(library, seed, delays):
    rng = np.random.default_rng(seed)
    timed = annotate_delays(random_netlist(library, seed, gates=120), resolution=1e-11)
    timed = {"gate": timed, "arc": as_arcs(timed), "random arcs": as_arcs(timed, rng, high=6)}[delays]
    vectors = rng.integers(0, 2, (12, len(timed.input_nets))).astype(np.uint8)
    first, second = rng.integers(0, 12, 30), rng.integers(0, 12, 30)
    weights = rng.random((2, timed.net_count))
    circuit = KernelCircuit.from_timed(timed)
    run = run_transitions(circuit, circuit.initial_state(), vectors, first, second, rise_weight=weights[0],
                          fall_weight=weights[1], per_transition=True, record=True)
    log = run.log[run.log[:, 1] >= 0]  # the changes of the jumps to each transition's start left out
    glitches = 0
    for k in range(len(first)):
        expected = event_driven(timed, vectors[first[k]], vectors[second[k]])
        ours = log[log[:, 0] == k]
        assert sorted(map(tuple, ours[:, 1:].tolist())) == sorted(expected), k
        assert np.all(np.diff(ours[:, 1]) >= 0)  # the log is in time order
        toggles = np.bincount([net for _, net in expected], minlength=timed.net_count)
        np.testing.assert_array_equal(run.toggles_per_transition[k], toggles)
        start = settled(timed, vectors[first[k]])
        value, energy = start.copy(), 0.0
        for _, net in expected:
            value[net] ^= 1
            energy += weights[0][net] if value[net] else weights[1][net]
        assert run.weighted_toggles[k] == pytest.approx(energy, rel=1e-12)
        assert run.last_event_steps[k] == max((t for t, _ in expected), default=0)
        outputs = set(timed.output_nets.tolist())
        assert run.last_output_event_steps[k] == max((t for t, n in expected if n in outputs), default=0)
        glitches += int((toggles - (start != settled(timed, vectors[second[k]]))).sum())
    assert glitches > 0
