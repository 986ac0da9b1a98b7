"""Pareto-front figures, checked on the drawn objects: the title inside the figure, the knee as a ring under its
point, axes that leave a far-out trial outside and say so, one marker per method, and the saved resolution."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from cells.figures import FIGURE_DPI
from dse.frames import pareto_summary
from dse.plots import front_figure, plot_front

OBJECTIVES = [{"name": "accuracy", "direction": "maximize", "label": "accuracy (%)"},
              {"name": "energy_nJ", "direction": "minimize", "label": "energy per inference (nJ)"}]


def study_of(points, name="a-study-with-a-rather-long-name-for-one-panel", methods=None, violations=None):
    """An in-memory two-objective study: one completed trial per (accuracy, energy) point."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, directions=["maximize", "minimize"])
    study.set_user_attr("objectives", OBJECTIVES)
    study.set_user_attr("baseline:accuracy", 97.5)
    study.set_user_attr("baseline:energy_nJ", 8.0)
    for k, (accuracy, energy) in enumerate(points):
        params, distributions = {}, {}
        if methods:
            params["method"] = methods[k]
            distributions["method"] = optuna.distributions.CategoricalDistribution(["confidence", "exclusion"])
        attrs = {"constraints": [violations[k]]} if violations else {}
        study.add_trial(optuna.trial.create_trial(values=[accuracy, energy], params=params,
                                                  distributions=distributions, system_attrs=attrs))
    return study


def drawn(figure) -> FigureCanvasAgg:
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas


def collection_with(ax, label: str):
    return next(c for c in ax.collections if c.get_label() == label)


def test_single_panel_title_lies_inside_the_figure():
    figure = front_figure(pareto_summary(study_of([(96.0, 2.0), (95.0, 1.0), (90.0, 3.0)])))
    canvas = drawn(figure)
    box = figure._suptitle.get_window_extent(canvas.get_renderer())
    assert "\n" in figure._suptitle.get_text()  # wrapped: on one line it is wider than the 5-inch panel
    assert 0 <= box.x0 and box.x1 <= figure.bbox.width and box.y1 <= figure.bbox.height
    legend = figure.legends[0].get_window_extent(canvas.get_renderer())
    axes = figure.axes[0].get_window_extent(canvas.get_renderer())
    assert legend.y1 <= axes.y0  # the legend is below the panel, off the data


def test_one_point_front_is_drawn_on_top_of_the_knee_ring():
    summary = pareto_summary(study_of([(96.0, 1.0), (95.0, 2.0)]))
    assert len(summary.front) == 1
    ax = front_figure(summary).axes[0]
    knee, front = collection_with(ax, f"knee (trial {summary.knee_trial})"), collection_with(ax, "Pareto front")
    fill = knee.get_facecolor()
    assert len(fill) == 0 or (fill[:, 3] == 0).all()  # a ring: no fill
    assert front.get_zorder() > knee.get_zorder()
    np.testing.assert_allclose(front.get_offsets(), [[96.0, 1.0]])
    np.testing.assert_allclose(knee.get_offsets(), [[96.0, 1.0]])


def test_far_out_trials_are_left_outside_the_axes_and_counted():
    points = [(96.0, 1.0), (95.5, 0.8), (95.0, 0.6), (94.0, 1.5), (93.0, 1.2), (11.0, 0.9), (94.5, 1.1)]
    violations = [0, 0, 0, 0, 0, 5.0, 0]  # the 11 % trial breaks the accuracy constraint
    summary = pareto_summary(study_of(points, violations=violations))
    ax = front_figure(summary).axes[0]
    low, high = ax.get_xlim()
    assert 90 < low < 93 and 96 < high < 98.5  # the front and the baseline (97.5), not the infeasible 11 %
    assert ax.get_title(loc="right") == "1 trial outside the axes"
    feasible_outlier = pareto_summary(study_of(points, violations=[0] * len(points)))
    ax = front_figure(feasible_outlier).axes[0]
    assert ax.get_xlim()[0] > 90 and ax.get_title(loc="right") == "1 trial outside the axes"
    close = front_figure(pareto_summary(study_of(points[:5]))).axes[0]
    assert close.get_title(loc="right") == "" and close.get_xlim()[0] < 93


def test_each_method_of_an_early_exit_front_has_its_marker():
    points = [(96.0, 1.0), (95.0, 0.7), (94.0, 0.5), (95.5, 0.9), (93.0, 0.4), (92.0, 2.0)]
    methods = ["exclusion", "confidence", "exclusion", "confidence", "confidence", "exclusion"]
    summary = pareto_summary(study_of(points, name="early-exit", methods=methods))
    ax = front_figure(summary).axes[0]
    fronts = {c.get_label(): c for c in ax.collections if c.get_label().startswith("front, method = ")}
    assert set(fronts) == {"front, method = confidence", "front, method = exclusion"}
    paths = {label: c.get_paths()[0].vertices.round(3).tobytes() for label, c in fronts.items()}
    assert len(set(paths.values())) == 2  # two marker shapes
    colours = {tuple(c.get_facecolor()[0]) for c in fronts.values()}
    assert len(colours) == 2
    exclusion = summary.front[summary.front["param:method"] == "exclusion"][["accuracy", "energy_nJ"]]
    np.testing.assert_allclose(fronts["front, method = exclusion"].get_offsets(), exclusion.to_numpy())


def test_front_is_saved_at_the_shared_resolution(tmp_path):
    path = tmp_path / "front.png"
    plot_front(pareto_summary(study_of([(96.0, 1.0), (95.0, 0.5)])), path)
    with Image.open(path) as image:
        assert image.info["dpi"] == pytest.approx((FIGURE_DPI, FIGURE_DPI), abs=0.1)
