"""Cost model against a hand-computed case: 2 layers, 3 weight values, a LUT with hand-chosen numbers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from characterize.lut.table import LutError
from characterize.timing.power import alpha_power_delay_scale
from dse.costmodel import (
    CostModel,
    LayerStats,
    cost_report,
    embedded_area,
    energy_per_inference,
    layer_energy,
    macs,
    worst_delay,
)
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


def test_breakdown_per_layer_sums_to_the_totals(lut, layers):
    report = cost_report(lut, layers)
    conv, fc = report.layers
    assert (conv.name, conv.macs, conv.distinct_weights, conv.area_um2) == ("conv", 12, 3, 135.0)
    assert (fc.name, fc.macs, fc.distinct_weights, fc.area_um2) == ("fc", 3, 2, 55.0)
    assert conv.energy_J == pytest.approx(153e-15) and fc.energy_J == pytest.approx(12e-15)
    assert (conv.worst_delay_s, fc.worst_delay_s) == pytest.approx((200e-12, 300e-12))
    figures = report.layer_figures()
    assert figures["layer:conv:energy_nJ"] + figures["layer:fc:energy_nJ"] == pytest.approx(
        report.figures()["energy_per_inference_nJ"])
    assert figures["layer:conv:macs"] + figures["layer:fc:macs"] == report.macs
    assert figures["layer:fc:worst_delay_ps"] == pytest.approx(300.0)
    assert figures["layer:conv:distinct_weights"] == 3 and figures["layer:conv:area_um2"] == 135.0
    assert max(c.worst_delay_s for c in report.layers) == report.worst_delay_s


def test_a_layer_lut_prices_only_that_layers_energy(lut, layers):
    # fc characterized with its own activations: every weight twice as expensive; delay and area stay the study LUT's.
    fc_lut = make_lut({w: 2 * e for w, e in ENERGY_FJ.items()}, AREA_UM2, {w: 1.0 for w in DELAY_PS})
    model = CostModel(lut, layer_luts={"fc": fc_lut})
    assert energy_per_inference(model, layers) == pytest.approx(153e-15 + 24e-15)
    report = cost_report(model, layers)
    assert report.worst_delay_s == pytest.approx(300e-12) and report.area_um2 == pytest.approx(190.0)
    assert cost_report(model, layers).layers[0].energy_J == pytest.approx(153e-15)


def test_zero_skipping_charges_skipped_macs_the_gated_energy():
    # Mean energy of transitions ending on a non-zero activation: w=-1: (12 + 6 + 9) / 3 = 9 fJ;
    # w=2: (20 x 30 + 10 x 15) / 30 = 25 fJ (its activation-0 rows do not count).
    pairs = [(-1, 0, 10, 4.0), (-1, 1, 10, 12.0), (-1, 2, 10, 6.0), (-1, 3, 10, 9.0),
             (2, 0, 10, 2.0), (2, 1, 20, 30.0), (2, 3, 10, 15.0)]
    table = pd.DataFrame([{"weight": w, "activation": a, "transitions": n, "max_sensitized_delay_ps": 1.0,
                           "mean_energy_fJ": e} for w, a, n, e in pairs])
    lut = make_lut(ENERGY_FJ, AREA_UM2, DELAY_PS, activations=table)
    layer = LayerStats("conv", np.array([[2, 0], [-1, 2]]), macs_per_weight=3, activations=np.array([5, 0, 0, 2]))
    assert layer.zero_activation_share() == pytest.approx(5 / 7)
    gated = 0.5
    skipped = CostModel(lut, zero_skip=True, gated_energy_fJ=gated)
    zeros = 5 / 7
    expected_fj = 3 * (2 * (zeros * gated + (1 - zeros) * 25.0) + gated + (zeros * gated + (1 - zeros) * 9.0))
    assert layer_energy(skipped, layer) == pytest.approx(expected_fj * 1e-15)
    # Without skipping every MAC costs its weight's LUT energy: 3 x (20 + 1 + 10 + 20) fJ.
    assert layer_energy(lut, layer) == pytest.approx(153e-15)
    # Raising the gated energy by 1 fJ raises the layer's energy by 1 fJ per skipped MAC:
    # 3 MACs of w=0 plus 5/7 of the 9 MACs of non-zero weights.
    dearer = CostModel(lut, zero_skip=True, gated_energy_fJ=gated + 1.0)
    assert layer_energy(dearer, layer) - layer_energy(skipped, layer) == pytest.approx((3 + 9 * zeros) * 1e-15)
