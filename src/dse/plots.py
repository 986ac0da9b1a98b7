"""Pareto-front figures (matplotlib, no pyplot state): PNG, SVG or PDF by the file's extension.

Two objectives: one panel with all completed trials, the front as a step line,
the knee and the unrestricted baseline. More objectives: one panel per pair of
objectives, each showing the projection of the same trials with the
k-dimensional front highlighted. A front point that identical trials share
is drawn once and marked with their number (x3).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

from matplotlib.figure import Figure

from cells.files import atomic_path, check_figure_path
from dse.errors import DseError
from dse.frames import ParetoSummary


def plot_front(summary: ParetoSummary, path: str | Path) -> None:
    """Draw the front of `summary` into `path`; the extension picks the format."""
    path = check_figure_path(path, DseError)
    pairs = list(itertools.combinations(range(len(summary.objectives)), 2))
    if not pairs:
        raise DseError("a Pareto plot needs at least two objectives")
    columns = min(3, len(pairs))
    rows = math.ceil(len(pairs) / columns)
    figure = Figure(figsize=(5.0 * columns, 4.2 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (i, j) in zip(axes, pairs):
        _panel(ax, summary, i, j, legend=ax is axes[0])
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    feasible = int(summary.trials["feasible"].astype(bool).sum()) if len(summary.trials) else 0
    figure.suptitle(
        f"{summary.study_name}: {len(summary.trials)} completed trials, {feasible} feasible, "
        f"{len(summary.front)} on the front"
    )
    with atomic_path(path) as partial:
        figure.savefig(partial, dpi=150)


def _panel(ax, summary: ParetoSummary, i: int, j: int, legend: bool) -> None:
    x, y = summary.objectives[i], summary.objectives[j]
    trials, front = summary.trials, summary.front
    if len(trials):
        feasible = trials["feasible"].astype(bool)
        ax.scatter(trials.loc[feasible, x.name], trials.loc[feasible, y.name], s=14, color="0.65", label="trials")
        if (~feasible).any():
            ax.scatter(trials.loc[~feasible, x.name], trials.loc[~feasible, y.name], s=14, marker="x",
                       color="0.75", label="infeasible")
    if len(front):
        if len(summary.objectives) == 2:
            # The attainment staircase: between two front points the level of the one better in x holds.
            ordered = front.sort_values(x.name)
            where = "post" if x.direction == "minimize" else "pre"
            ax.step(ordered[x.name], ordered[y.name], where=where, color="tab:blue", linewidth=1)
        ax.scatter(front[x.name], front[y.name], s=28, color="tab:blue", label="Pareto front", zorder=3)
        for _, row in front[front["count"] > 1].iterrows():
            ax.annotate(f"\u00d7{row['count']}", (row[x.name], row[y.name]), xytext=(4, 4),
                        textcoords="offset points", fontsize="x-small", color="tab:blue")
        knee = front[front["knee"]]
        ax.scatter(knee[x.name], knee[y.name], s=160, marker="*", color="tab:orange", zorder=4,
                   label=f"knee (trial {summary.knee_trial})")
    if x.name in summary.baseline and y.name in summary.baseline:
        ax.scatter([summary.baseline[x.name]], [summary.baseline[y.name]], s=70, marker="D", color="tab:red",
                   zorder=4, label="baseline (unrestricted)")
    ax.set_xlabel(x.label)
    ax.set_ylabel(y.label)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(fontsize="small")
