"""LUT summaries and plots: the saved resolution, labelled reference lines with legends beside the panels, µm², and
no area panel (but one area line in the summary) when every weight has the same area."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from cells.figures import FIGURE_DPI
from characterize.lut.report import lut_figure, plot, summarize
from characterize.lut.table import LUT_COLUMNS, Lut


def lut_of(mode: str) -> Lut:
    """A 4-bit LUT with a reference row; stationary LUTs have one area for every weight, as the circuit is one."""
    weights = np.arange(-8, 8)
    rng = np.random.default_rng(0)
    area = np.full(len(weights), 120.5) if mode == "stationary" else 20.0 + 10.0 * np.abs(weights)
    rows = pd.DataFrame({
        "weight": [np.nan, *weights], "mode": mode, "arch": "array", "bits": 4, "signed": True, "cells": 30,
        "area_um2": [120.5, *area], "critical_delay_ps": [900.0, *rng.uniform(300, 900, 16)],
        "max_sensitized_delay_ps": [850.0, *rng.uniform(200, 850, 16)],
        "mean_sensitized_delay_ps": [400.0, *rng.uniform(100, 400, 16)],
        "energy_per_op_fJ": [300.0, *rng.uniform(0, 300, 16)], "toggles_per_op": 9.0, "glitches_per_op": 2.0,
        "leakage_nW": 1.0,
    })[list(LUT_COLUMNS)]
    return Lut(rows)


def test_stationary_lut_has_no_area_panel_and_states_its_area():
    lut = lut_of("stationary")
    figure = lut_figure(lut)
    assert [ax.get_ylabel() for ax in figure.axes] == ["energy per operation (fJ)", "delay (ps)"]
    assert "area 120.5 µm² for every weight" in figure._suptitle.get_text()
    assert "area: 120.5 um2 for every weight (stationary)" in summarize(lut).splitlines()
    embedded = lut_figure(lut_of("embedded"))
    assert [ax.get_ylabel() for ax in embedded.axes][-1] == "area (µm²)"
    assert any(line.startswith("area: 20.0 um2 (w=0) to 100.0 um2") for line in summarize(lut_of("embedded")).splitlines())



def test_summary_names_the_median_weight_and_the_processing_element_shares():
    lut = lut_of("embedded")
    energy = lut.weights["energy_per_op_fJ"]
    lines = summarize(lut).splitlines()
    ranked = energy.sort_values().index
    line = next(line for line in lines if line.startswith("energy/op: "))
    assert line.endswith(f", median {energy[ranked[8]]:.1f} fJ (w={ranked[8]})")
    assert (energy < energy[ranked[8]]).sum() == 8 and not any(line.startswith("processing element") for line in lines)
    rows = lut.table.assign(mac_area_um2=lut.table["area_um2"] * 0.7, mac_energy_share=0.5, clock_energy_share=0.375,
                           register_energy_share=0.125)
    assert ("processing element: MAC 70 % of the area; shares of the switching energy, mean over the weights: "
            "MAC 50 %, clock 38 %, register outputs 12 %") in summarize(Lut(rows)).splitlines()

def test_reference_lines_are_labelled_and_legends_sit_beside_the_curves():
    figure = lut_figure(lut_of("embedded"))
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in figure.axes:
        curves = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
        dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert len(dashed) == len(curves) > 0
        for curve, reference in zip(curves, dashed):
            assert reference.get_label() == f"{curve.get_label()}, without embedded weight"
            assert reference.get_color() == curve.get_color()
        legend, panel = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
        assert legend.x0 >= panel.x1  # right of the panel, never over a curve
        assert legend.x1 <= figure.bbox.width
    title = figure._suptitle.get_window_extent(renderer)
    assert 0 <= title.x0 and title.x1 <= figure.bbox.width


def test_lut_plot_is_saved_at_the_shared_resolution(tmp_path):
    path = tmp_path / "lut.png"
    plot(lut_of("embedded"), path)
    with Image.open(path) as image:
        assert image.info["dpi"] == pytest.approx((FIGURE_DPI, FIGURE_DPI), abs=0.1)
