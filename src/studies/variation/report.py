"""Accuracy against σ for one trial of a `variation` study: the plain network, suppression only, and
suppression with compensation (or the noise-injection network), as a table and a plot.

The curves come from the attributes the kind stores with every trial
(`curve_sigma`, `curve_baseline`, `curve_trained`, `curve_compensated` and
their `_se` standard errors), so a report needs no retraining.
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

CURVES = ("baseline", "trained", "compensated")


def sigma_table(attrs: dict) -> pd.DataFrame:
    """One row per σ: mean accuracy (%) and Monte Carlo standard error of each network the trial has."""
    missing = [key for key in ("curve_sigma", "curve_baseline", "curve_trained", "method") if key not in attrs]
    if missing:
        raise StudiesError(f"the trial has no {', '.join(missing)} attribute (not a variation trial)")
    trained = "suppression" if attrs["method"] == "correctnet" else attrs["method"].replace("-", "_")
    names = {"baseline": "plain", "trained": trained, "compensated": "suppression_compensation"}
    table = {"sigma": attrs["curve_sigma"]}
    for curve in CURVES:
        values = attrs.get(f"curve_{curve}")
        if values is None:
            continue
        table[f"{names[curve]}_pct"] = values
        table[f"{names[curve]}_se"] = attrs[f"curve_{curve}_se"]
    return pd.DataFrame(table)


def study_sigma_table(study: optuna.Study, trial: int | None = None) -> tuple[pd.DataFrame, int]:
    """The σ table of trial `trial` of a `variation` study (default: the knee of its Pareto front)."""
    found = report_trial(study, "variation", trial)
    return sigma_table(found.user_attrs), found.number


def plot_sigma_table(table: pd.DataFrame, path: str | Path, title: str) -> None:
    """Accuracy against σ, one line per network, error bars of two Monte Carlo standard errors."""
    path = check_figure_path(path, StudiesError)
    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = figure.subplots()
    for column in [c for c in table.columns if c.endswith("_pct")]:
        name = column.removesuffix("_pct")
        ax.errorbar(table["sigma"], table[column], yerr=2 * np.asarray(table[f"{name}_se"]), marker="o",
                    capsize=3, label=name.replace("_", " + ").replace("noise + injection", "noise injection"))
    ax.set_xlabel("σ of the log-normal variation")
    ax.set_ylabel("accuracy under variation (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fit_title(ax, title)
    save_figure(figure, path)
