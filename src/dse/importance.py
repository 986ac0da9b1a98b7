"""Per-parameter importance of a study, one panel per objective (fANOVA, seeded).

Which knob moves which objective: the search space is the study's own, the
importances are Optuna's fANOVA estimate over the completed trials.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from matplotlib.figure import Figure
from optuna.importance import FanovaImportanceEvaluator, get_param_importances
from optuna.trial import TrialState

from cells.figures import fit_title, save_figure
from cells.files import check_figure_path
from dse.errors import DseError
from dse.frames import study_objectives

MIN_TRIALS = 3


def parameter_importances(study: optuna.Study, seed: int = 0) -> dict[str, dict[str, float]]:
    """Importance (summing to 1) of each parameter for each objective, by objective name."""
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(completed) < MIN_TRIALS:
        raise DseError(f"study {study.study_name}: parameter importance needs at least {MIN_TRIALS} completed "
                       f"trials, it has {len(completed)}")
    result = {}
    for index, objective in enumerate(study_objectives(study)):
        importances = get_param_importances(
            study, evaluator=FanovaImportanceEvaluator(seed=seed), target=lambda t, i=index: t.values[i]
        )
        result[objective.name] = dict(importances)
    return result


def plot_importance(study: optuna.Study, path: str | Path, seed: int = 0) -> dict[str, dict[str, float]]:
    """Bar charts of `parameter_importances` into `path` (PNG, SVG or PDF); returns the importances."""
    path = check_figure_path(path, DseError)
    importances = parameter_importances(study, seed)
    labels = {o.name: o.label for o in study_objectives(study)}
    figure = Figure(figsize=(4.5 * len(importances), 3.5), layout="constrained")
    axes = figure.subplots(1, len(importances), squeeze=False).ravel()
    for ax, (name, values) in zip(axes, importances.items()):
        if values:
            ordered = sorted(values.items(), key=lambda item: item[1])
            ax.barh([p for p, _v in ordered], [v for _p, v in ordered], color="tab:blue")
        else:
            ax.text(0.5, 0.5, "no parameter common to all trials", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlim(0, 1)
        ax.set_xlabel("importance (fANOVA)")
        ax.set_title(labels[name], fontsize=10)
    fit_title(figure, f"{study.study_name}: parameter importance per objective")
    save_figure(figure, path)
    return importances
