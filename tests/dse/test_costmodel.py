"""Cost model against a hand-computed case: 2 layers, 3 weight values, a LUT with hand-chosen numbers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from characterize.lut.table import LutError
from characterize.timing.power import alpha_power_delay_scale
from dse.costmodel import LayerStats, cost_report, embedded_area, energy_per_inference, macs, worst_delay
from tests.dse.toykind import make_lut

# weight:            -1     0      2
ENERGY_FJ = {-1: 10.0, 0: 1.0, 2: 20.0}
AREA_UM2 = {-1: 50.0, 0: 5.0, 2: 80.0}
DELAY_PS = {-1: 300.0, 0: 50.0, 2: 400.0}
# (weight, activation) -> worst sensitized delay of transitions ending on that activation;
# weight 0 has no row for activation 3 (never sampled).
PAIRS = {(-1, 0): 80, (-1, 1): 300, (-1, 2): 120, (-1, 3): 90,
         (0, 0): 50, (0, 1): 50, (0, 2): 50,
         (2, 0): 100, (2, 1): 150, (2, 2): 400, (2, 3): 200}


@pytest.fixture
def lut():
    activations = pd.DataFrame(
        [{"weight": w, "activation": a, "transitions": 10, "max_sensitized_delay_ps": d, "mean_energy_fJ": 1.0}
         for (w, a), d in PAIRS.items()]
    )
    return make_lut(ENERGY_FJ, AREA_UM2, DELAY_PS, reference_critical_ps=500.0, activations=activations)


@pytest.fixture
def layers():
    return [
        LayerStats("conv", np.array([[2, 0], [-1, 2]]), macs_per_weight=3, activations=np.array([5, 0, 0, 2])),
        LayerStats("fc", np.array([0, 0, -1]), macs_per_weight=1, activations=np.array([1, 1, 0, 0])),
    ]


def test_energy_counts_every_mac_at_its_weights_lut_energy(lut, layers):
    # conv: (20 + 1 + 10 + 20) fJ x 3 MACs each = 153 fJ; fc: (1 + 1 + 10) fJ x 1 = 12 fJ; zero weights cost 1 fJ.
    assert energy_per_inference(lut, layers) == pytest.approx(165e-15)
    assert macs(layers) == 4 * 3 + 3 * 1


def test_area_sums_distinct_weight_values_per_layer(lut, layers):
    # conv uses {-1, 0, 2}: 50 + 5 + 80 = 135; fc uses {-1, 0}: 50 + 5 = 55.
    assert embedded_area(lut, layers) == pytest.approx(190.0)


def test_worst_delay_over_used_weights_without_activation_statistics(lut):
    plain = [LayerStats("conv", np.array([[2, 0], [-1, 2]]), 3), LayerStats("fc", np.array([0, 0, -1]), 1)]
    assert worst_delay(lut, plain) == pytest.approx(400e-12)
    assert worst_delay(lut, [LayerStats("fc", np.array([0, 0, -1]), 1)]) == pytest.approx(300e-12)


def test_worst_delay_over_used_weight_activation_pairs(lut, layers):
    # conv: activations {0, 3}: w=-1 -> 90, w=0 -> pair (0, 3) missing -> its overall 50, w=2 -> 200.
    # fc: activations {0, 1}: w=-1 -> 300, w=0 -> 50. Worst: 300 ps.
    assert worst_delay(lut, layers) == pytest.approx(300e-12)
    # Allowing only activations {0, 3}: fc keeps {0}: w=-1 -> 80; conv still 200.
    assert worst_delay(lut, layers, allowed_activations=[0, 3]) == pytest.approx(200e-12)


def test_missing_pair_falls_back_to_the_weights_maximum(lut):
    layer = LayerStats("x", np.array([2]), 1, activations=np.array([0, 0, 0, 1, 1]))  # activations 3 and 4
    # (2, 4) is not in the table, so the weight's overall 400 ps counts, not (2, 3)'s 200 ps.
    assert worst_delay(lut, [layer]) == pytest.approx(400e-12)


def test_report_scales_voltage_until_the_worst_delay_fills_the_clock(lut, layers):
    report = cost_report(lut, layers)
    assert report.period_s == pytest.approx(500e-12)  # the reference circuit's critical delay
    assert report.worst_delay_s == pytest.approx(300e-12)
    # Mean MAC energy 165 fJ / 15 per 500 ps clock = 22 µW at the nominal 1.8 V.
    assert report.power_W == pytest.approx(165e-15 / 15 / 500e-12)
    assert report.timing_met
    v = report.voltage_V
    assert 0.45 < v < 1.8
    assert 300e-12 * alpha_power_delay_scale(v, 1.8, 0.45, 1.3) <= 500e-12
    assert 300e-12 * alpha_power_delay_scale(v - 1e-3, 1.8, 0.45, 1.3) > 500e-12
    assert report.power_scaled_W == pytest.approx(report.power_W * (v / 1.8) ** 2)
    assert report.figures()["energy_per_inference_nJ"] == pytest.approx(165e-6)


def test_timing_missed_keeps_nominal_voltage(lut, layers):
    report = cost_report(lut, layers, period_s=250e-12)
    assert not report.timing_met
    assert report.voltage_V == 1.8 and report.power_scaled_W == report.power_W


def test_a_weight_missing_from_the_lut_is_named(lut):
    with pytest.raises(LutError, match=r"no row for weight 7;.*missing = \"nearest\""):
        energy_per_inference(lut, [LayerStats("x", np.array([7, 0]), 1)])


def test_missing_nearest_takes_the_nearest_weights_row(lut):
    nearest = dataclasses.replace(lut, missing="nearest")
    # 7 -> 2, -5 -> -1, 1 -> 0 (a tie between 0 and 2 takes the smaller)
    layer = LayerStats("x", np.array([7, -5, 1, 2]), 1)
    expected = ENERGY_FJ[2] + ENERGY_FJ[-1] + ENERGY_FJ[0] + ENERGY_FJ[2]
    assert energy_per_inference(nearest, [layer]) == pytest.approx(expected * 1e-15)
    assert embedded_area(nearest, [LayerStats("x", np.array([3]), 1)]) == AREA_UM2[2]
