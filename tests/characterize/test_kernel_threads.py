"""The kernel on several threads: chunks of transitions, each from its first vector's settled state, give the
serial run's results exactly (toggles per net, per-transition delays and energies, event counts)."""

from __future__ import annotations

import numpy as np
import pytest

from characterize.generators import multiplier
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.delays import annotate_arc_delays, annotate_delays, default_external_load
from characterize.timing.kernel import MIN_CHUNK, KernelCircuit, available_threads, run_transitions
from characterize.timing.power import simulate_energy

TRANSITIONS = 5 * MIN_CHUNK  # enough for several chunks on 2 and on 3 threads


def booth8(per_arc: bool):
    netlist = multiplier(8, True, "booth")
    if not per_arc:
        return annotate_delays(netlist)
    return annotate_arc_delays(calculate_delays(netlist, 40e-12, default_external_load(netlist.library)))


def random_inputs(count: int, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"a": rng.integers(-128, 128, count + 1), "w": rng.integers(-128, 128, count + 1)}


@pytest.mark.parametrize("per_arc", [False, True], ids=["gate delays", "arc delays"])
@pytest.mark.parametrize("threads", [2, 3])
def test_threads_give_the_serial_kernel_run(per_arc, threads):
    timed = booth8(per_arc)
    circuit = KernelCircuit.from_timed(timed)
    rng = np.random.default_rng(5)
    vectors = rng.integers(0, 2, (300, len(timed.input_nets))).astype(np.uint8)
    first, second = rng.integers(0, 300, TRANSITIONS), rng.integers(0, 300, TRANSITIONS)
    second[::3] = np.roll(first, -1)[::3]  # some transitions follow the one before, others jump
    multiplicity = rng.integers(1, 4, TRANSITIONS)
    weights = rng.random((2, timed.net_count))
    runs, states = [], []
    for count in (1, threads):
        state = circuit.initial_state()
        runs.append(run_transitions(circuit, state, vectors, first, second, multiplicity=multiplicity,
                                    rise_weight=weights[0], fall_weight=weights[1], per_transition=True,
                                    threads=count))
        states.append(state)
    serial, parallel = runs
    assert (serial.toggles - serial.settled_changes).sum() > 0  # glitches
    for field in ("toggles", "settled_changes", "last_output_event_steps", "last_event_steps", "weighted_toggles",
                  "toggles_per_transition"):
        np.testing.assert_array_equal(getattr(parallel, field), getattr(serial, field), err_msg=field)
    assert parallel.events == serial.events
    np.testing.assert_array_equal(states[1].values, states[0].values)  # both end settled at the last vector
    np.testing.assert_array_equal(states[1].gate_index, states[0].gate_index)


def test_an_energy_run_on_threads_equals_the_serial_one():
    timed = booth8(per_arc=True)
    inputs = random_inputs(TRANSITIONS)
    serial, parallel = simulate_energy(timed, inputs), simulate_energy(timed, inputs, threads=2)
    assert serial.result.glitches.sum() > 0
    np.testing.assert_array_equal(parallel.result.toggles, serial.result.toggles)
    np.testing.assert_array_equal(parallel.result.sensitized_delay_steps, serial.result.sensitized_delay_steps)
    np.testing.assert_array_equal(parallel.dynamic_j, serial.dynamic_j)
    assert parallel.result.events == serial.result.events


def test_the_default_thread_count_follows_numba_num_threads(monkeypatch):
    monkeypatch.setenv("NUMBA_NUM_THREADS", "3")
    assert available_threads() == 3
    monkeypatch.delenv("NUMBA_NUM_THREADS")
    assert available_threads() >= 1
