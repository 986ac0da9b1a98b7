"""Simulation split over threads equals the serial simulation, field by field."""

from __future__ import annotations

import numpy as np
import pytest

from characterize.generators import multiplier
from characterize.timing.delays import annotate_delays
from characterize.timing.parallel import MIN_CHUNK_TRANSITIONS, simulate_parallel
from characterize.timing.power import net_transition_energy
from characterize.timing.sim import simulate

FIELDS = ("toggles", "settled_changes", "sensitized_delay_steps", "settle_steps", "toggles_per_transition",
          "weighted_toggles")


@pytest.mark.parametrize("repeats", [False, True])
def test_chunks_in_threads_equal_the_serial_run(library, repeats):
    netlist = multiplier(4, True, "booth", "ripple", library)
    timed = annotate_delays(netlist)
    energy = net_transition_energy(netlist, timed.input_slew_s, timed.external_load_f)
    rng = np.random.default_rng(7)
    count = 3 * MIN_CHUNK_TRANSITIONS + 17
    # with repeats, few distinct transitions: each chunk merges equal ones on its own
    a = rng.integers(-8, 8, count + 1) if not repeats else np.resize([3, -5, 3, 7], count + 1)
    inputs = {"a": a, "w": rng.integers(-8, 8, count + 1)}
    serial = simulate(timed, inputs, per_transition=True, net_weights=energy)
    parallel = simulate_parallel(timed, inputs, workers=3, per_transition=True, net_weights=energy)
    assert parallel.events == serial.events and parallel.transitions == count
    for field in FIELDS:
        assert np.array_equal(getattr(parallel, field), getattr(serial, field)), field
