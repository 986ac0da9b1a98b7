"""Static timing bounds the simulator; voltage scaling."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from characterize.errors import NetlistError
from characterize.netlist.builder import NetlistBuilder
from characterize.passes.designs import MultiplierSpec, embedded_design, reference_design
from characterize.timing.delays import annotate_delays
from characterize.timing.power import alpha_power_delay_scale, scale_voltage
from characterize.timing.sim import simulate
from characterize.timing.sta import static_timing, unateness


def all_pairs(values: list[int]) -> np.ndarray:
    """A sequence whose consecutive pairs include every ordered pair of `values` (an Eulerian circuit)."""
    n = len(values)
    used = set()
    stack, circuit = [0], []
    while stack:
        node = stack[-1]
        nxt = next((m for m in range(n) if (node, m) not in used), None)
        if nxt is None:
            circuit.append(stack.pop())
        else:
            used.add((node, nxt))
            stack.append(nxt)
    return np.array([values[i] for i in circuit[::-1]], dtype=np.int64)


def xor_chain(library):
    builder = NetlistBuilder("chain", library)
    x = builder.input("x", 5)
    net = x[0]
    for bit in x[1:]:
        net = builder.gate("XOR2", net, bit)
    builder.output("y", [net])
    return builder.build()


def test_all_pairs_sequence_covers_every_transition():
    sequence = all_pairs(list(range(6)))
    assert {(int(a), int(b)) for a, b in zip(sequence, sequence[1:])} == set(itertools.product(range(6), repeat=2))


def test_sta_equals_worst_sensitized_delay_on_an_xor_chain(library):
    timed = annotate_delays(xor_chain(library))
    vectors = all_pairs(list(range(32)))
    result = simulate(timed, {"x": vectors})
    report = static_timing(timed)
    assert result.sensitized_delay_steps.max() == report.critical_delay_steps
    assert [p.net for p in report.path][0] == "x[0]"
    assert report.path[-1].net == "y[0]"


@pytest.mark.parametrize("arch", ["array", "booth", "wallace"])
def test_sta_bounds_every_sensitized_delay(arch, library):
    spec = MultiplierSpec(4, True, arch)
    reference = reference_design(spec, library)
    pairs = all_pairs(list(range(-8, 8)))
    rng = np.random.default_rng(0)
    for design, inputs in (
        (reference, {"a": np.repeat(pairs, 2)[:400], "w": rng.integers(-8, 8, 400)}),
        (embedded_design(reference, spec, -5), {"a": pairs}),
    ):
        timed = annotate_delays(design)
        result = simulate(timed, inputs)
        assert result.sensitized_delay_steps.max() <= static_timing(timed).critical_delay_steps


def test_unateness_of_basic_functions():
    nand = 0b0111
    assert unateness(nand, 2, 0) == (False, True)
    xor = 0b0110
    assert unateness(xor, 2, 1) == (True, True)
    and2 = 0b1000
    assert unateness(and2, 2, 0) == (True, False)


def test_voltage_scaling_meets_the_budget_at_the_lowest_voltage():
    result = scale_voltage(worst_delay_s=1e-9, budget_s=2e-9, nominal_v=1.8)
    assert result.feasible and 0.45 < result.voltage < 1.8
    assert result.delay_s <= 2e-9
    lower = result.voltage - 1e-3
    assert 1e-9 * alpha_power_delay_scale(lower, 1.8, 0.45, 1.3) > 2e-9
    assert result.power_scale == pytest.approx((result.voltage / 1.8) ** 2)
    assert not scale_voltage(3e-9, 2e-9, 1.8).feasible
    with pytest.raises(NetlistError):
        scale_voltage(1e-9, 0.0, 1.8)
