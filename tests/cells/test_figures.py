"""Titles wrapped to their figure or panel stay inside the figure when drawn."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cells.figures import fit_title

LONG = "early-exit study mnist-lenet5-exclusion-and-confidence: per-exit figures of trial 123 (the knee of the front)"


@pytest.mark.parametrize("on_axes", [False, True])
@pytest.mark.parametrize("width_in", [4.0, 6.0, 10.0])
def test_long_titles_fit_inside_the_figure(on_axes, width_in):
    figure = Figure(figsize=(width_in, 4.0), layout="constrained")
    axes = figure.subplots(1, 2)
    title = fit_title(axes[0] if on_axes else figure, LONG)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    box = title.get_window_extent(canvas.get_renderer())
    limit = axes[0].get_window_extent(canvas.get_renderer()) if on_axes else figure.bbox
    assert limit.x0 - 1 <= box.x0 and box.x1 <= limit.x1 + 1
    assert box.y1 <= figure.bbox.height
    assert "\n" in title.get_text()  # on one line it is wider than any of these figures
    assert "".join(title.get_text().split()) == "".join(LONG.split())
