"""Pareto-front figures (matplotlib, no pyplot state): PNG, SVG or PDF by the file's extension.

Two objectives: one panel with all completed trials, the front as a step line,
the knee (a ring around its front point) and the unrestricted baseline. More
objectives: one panel per pair of objectives, each showing the projection of
the same trials with the k-dimensional front highlighted. A front point that
identical trials share is drawn once and marked with their number (x3).

When the study has a categorical parameter with text values (the early-exit
`method`, the pruning `method`), each of its values gets its own marker and
front colour. Each axis covers the front, the baseline and the feasible trials
that are not far out (more than three interquartile ranges, front widths or
tenths of the whole span beyond the quartiles); a trial left outside is counted above its panel
("2 trials outside the axes"), so one bad trial does not squeeze the front.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cells.figures import fit_title, save_figure
from cells.files import check_figure_path
from dse.errors import DseError
from dse.frames import PARAM_PREFIX, ParetoSummary

MARKERS = ("o", "s", "^", "v", "P", "h")
COLOURS = ("tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive")
FAR_OUT = 3.0  # Tukey's fence for far-out values, in interquartile ranges
MARGIN = 0.05  # share of an axis's span left free at each end
FLOOR = 0.1  # the fences' width is at least this share of all values' span (for mostly equal values)


def plot_front(summary: ParetoSummary, path: str | Path) -> None:
    """Draw the front of `summary` into `path`; the extension picks the format."""
    path = check_figure_path(path, DseError)
    save_figure(front_figure(summary), path)


def front_figure(summary: ParetoSummary) -> Figure:
    """The figure `plot_front` saves."""
    pairs = list(itertools.combinations(range(len(summary.objectives)), 2))
    if not pairs:
        raise DseError("a Pareto plot needs at least two objectives")
    columns = min(3, len(pairs))
    rows = math.ceil(len(pairs) / columns)
    figure = Figure(figsize=(5.0 * columns, 4.2 * rows + 0.8), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    category = categorical_parameter(summary.trials)
    for ax, (i, j) in zip(axes, pairs):
        _panel(ax, summary, i, j, category)
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:  # below the panels, off the data
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 2 * columns + 1),
                      fontsize="small")
    feasible = int(summary.trials["feasible"].astype(bool).sum()) if len(summary.trials) else 0
    fit_title(figure, f"{summary.study_name}: {len(summary.trials)} completed trials, {feasible} feasible, "
                      f"{len(summary.front)} on the front")
    return figure


def categorical_parameter(trials: pd.DataFrame) -> str | None:
    """The first parameter whose values are text, with 2 to len(MARKERS) distinct values among the trials."""
    for column in trials.columns:
        if not column.startswith(PARAM_PREFIX):
            continue
        values = trials[column].dropna()
        if all(isinstance(v, str) for v in values) and 2 <= values.nunique() <= len(MARKERS):
            return column
    return None


def _panel(ax, summary: ParetoSummary, i: int, j: int, category: str | None) -> None:
    x, y = summary.objectives[i], summary.objectives[j]
    trials, front = summary.trials, summary.front
    groups = sorted(trials[category].dropna().unique()) if category else [None]
    name = category[len(PARAM_PREFIX):] if category else ""

    def rows(frame: pd.DataFrame, value) -> pd.DataFrame:
        return frame if value is None else frame[frame[category] == value]

    if len(trials):
        feasible = trials["feasible"].astype(bool)
        for k, value in enumerate(groups):
            shown = rows(trials[feasible], value)
            if len(shown):
                ax.scatter(shown[x.name], shown[y.name], s=14, color="0.65", marker=MARKERS[k],
                           label="trials" if value is None else f"trials, {name} = {value}")
        if (~feasible).any():
            ax.scatter(trials.loc[~feasible, x.name], trials.loc[~feasible, y.name], s=14, marker="x",
                       color="0.75", label="infeasible")
    if len(front):
        if len(summary.objectives) == 2:
            # The attainment staircase: between two front points the level of the one better in x holds.
            ordered = front.sort_values(x.name)
            where = "post" if x.direction == "minimize" else "pre"
            ax.step(ordered[x.name], ordered[y.name], where=where, color="tab:blue" if category is None else "0.4",
                    linewidth=1)
        knee = front[front["knee"]]
        ax.scatter(knee[x.name], knee[y.name], s=190, facecolors="none", edgecolors="tab:orange", linewidths=2,
                   zorder=3, label=f"knee (trial {summary.knee_trial})")
        for k, value in enumerate(groups):
            shown = rows(front, value)
            if len(shown):
                ax.scatter(shown[x.name], shown[y.name], s=30, color=COLOURS[k], marker=MARKERS[k], zorder=4,
                           label="Pareto front" if value is None else f"front, {name} = {value}")
        for _, row in front[front["count"] > 1].iterrows():
            ax.annotate(f"\u00d7{row['count']}", (row[x.name], row[y.name]), xytext=(4, 4),
                        textcoords="offset points", fontsize="x-small", color="tab:blue")
    baseline = x.name in summary.baseline and y.name in summary.baseline
    if baseline:
        ax.scatter([summary.baseline[x.name]], [summary.baseline[y.name]], s=70, marker="D", color="tab:red",
                   zorder=5, label="baseline (unrestricted)")
    _limit_axes(ax, summary, x.name, y.name, baseline)
    ax.set_xlabel(x.label)
    ax.set_ylabel(y.label)
    ax.grid(True, alpha=0.3)


def _limit_axes(ax, summary: ParetoSummary, x: str, y: str, baseline: bool) -> None:
    """Axis limits over the front, the baseline and the feasible trials not far out; count the trials left out."""
    trials = summary.trials
    if trials.empty:
        return
    feasible = trials[trials["feasible"].astype(bool)]
    others = feasible if len(feasible) else trials
    limits = []
    for name in (x, y):
        kept = list(summary.front[name]) + ([summary.baseline[name]] if baseline else [])
        limits.append(_axis_range(np.asarray(kept, dtype=float), others[name].to_numpy(dtype=float)))
    if None in limits:  # no finite value to frame: matplotlib's own limits
        return
    (x_low, x_high), (y_low, y_high) = limits
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    values = trials[[x, y]].to_numpy(dtype=float)
    outside = int((~((values[:, 0] >= x_low) & (values[:, 0] <= x_high)
                     & (values[:, 1] >= y_low) & (values[:, 1] <= y_high))).sum())
    if outside:
        ax.set_title(f"{outside} trial{'s' if outside > 1 else ''} outside the axes", loc="right",
                     fontsize="small", color="0.35")


def _axis_range(kept: np.ndarray, others: np.ndarray) -> tuple[float, float] | None:
    """From the lowest to the highest of `kept` and of the `others` within the far-out fences, plus a margin."""
    kept, others = kept[np.isfinite(kept)], others[np.isfinite(others)]
    pool = np.concatenate([kept, others])
    if not len(pool):
        return None
    q1, q3 = np.percentile(pool, [25, 75])
    width = max(q3 - q1, np.ptp(kept) if len(kept) else 0.0, FLOOR * np.ptp(pool))
    inside = others[(others >= q1 - FAR_OUT * width) & (others <= q3 + FAR_OUT * width)]
    values = np.concatenate([kept, inside])
    low, high = float(values.min()), float(values.max())
    pad = MARGIN * (high - low) if high > low else max(abs(high) * MARGIN, 1e-12)
    return low - pad, high + pad
