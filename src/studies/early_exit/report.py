"""Per-exit figures of one early-exit trial: a table and a two-panel plot.

The two results the reference reports per exit point: the average number of
classes excluded there and the share of images that leave there. They come
from the attributes the `early-exit` kind stores with each trial (measured on
the test part), so a report needs no retraining and no re-evaluation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from matplotlib.figure import Figure

from cells.figures import fit_title, save_figure
from cells.files import check_figure_path
from studies.errors import StudiesError
from studies.report_trial import report_trial

COLUMNS = ("exit", "after", "reached_pct", "exit_pct", "excluded_mean", "excluded_total_mean")


def exit_table(attrs: dict) -> pd.DataFrame:
    """One row per used exit, then one for the final classifier, from an `early-exit` trial's attributes."""
    missing = [key for key in ("exits", "exit_after", "exit_fraction", "excluded_mean") if key not in attrs]
    if missing:
        raise StudiesError(f"the trial has no {', '.join(missing)} attribute (not an early-exit trial)")
    exits = list(attrs["exits"])
    leaving = 100.0 * np.asarray(attrs["exit_fraction"], dtype=float)
    reached = 100.0 - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    excluded = [np.nan if v is None else v for v in attrs["excluded_mean"]]
    totals = [np.nan if v is None else v for v in attrs.get("excluded_total_mean", [None] * len(exits))]
    return pd.DataFrame({
        "exit": [*exits, "final"],
        "after": [*attrs["exit_after"], "final classifier"],
        "reached_pct": reached,
        "exit_pct": leaving,
        "excluded_mean": [*excluded, np.nan],
        "excluded_total_mean": [*totals, np.nan],
    }, columns=list(COLUMNS))


def study_exit_table(study: optuna.Study, trial: int | None = None) -> tuple[pd.DataFrame, int]:
    """The per-exit table of trial `trial` of an `early-exit` study (default: the knee of its Pareto front)."""
    found = report_trial(study, "early-exit", trial)
    return exit_table(found.user_attrs), found.number


def plot_exit_table(table: pd.DataFrame, path: str | Path, title: str) -> None:
    """Two bar panels, one per exit: classes excluded on average there, and share of images leaving there."""
    path = check_figure_path(path, StudiesError)
    figure = Figure(figsize=(10.0, 4.0), layout="constrained")
    excluded_ax, exit_ax = figure.subplots(1, 2)
    exits = table[table["exit"] != "final"]
    labels = [f"exit {e}\n({a})" for e, a in zip(exits["exit"], exits["after"])]
    position = np.arange(len(exits))
    excluded_ax.bar(position - 0.2, exits["excluded_mean"], 0.4, label="at this exit")
    excluded_ax.bar(position + 0.2, exits["excluded_total_mean"], 0.4, label="up to this exit")
    excluded_ax.set_xticks(position, labels)
    excluded_ax.set_ylabel("excluded classes per image reaching the exit")
    excluded_ax.legend(fontsize="small")
    all_labels = [*labels, "final"]
    exit_ax.bar(np.arange(len(table)), table["exit_pct"], color="tab:green")
    exit_ax.set_xticks(np.arange(len(table)), all_labels)
    exit_ax.set_ylabel("images leaving here (%)")
    for ax in (excluded_ax, exit_ax):
        ax.grid(True, axis="y", alpha=0.3)
    fit_title(figure, title)
    save_figure(figure, path)
