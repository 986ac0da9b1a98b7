"""Text summaries of stored studies for `dse study list` and `dse study show`."""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from dse.frames import pareto_summary, study_objectives
from dse.storage import open_storage, study_names
from dse.workers import trial_counts


@dataclass(frozen=True)
class StudyListing:
    """One line of `dse study list`."""

    name: str
    kind: str
    objectives: tuple[str, ...]
    complete: int
    total: int


def list_studies(url: str) -> list[StudyListing]:
    """Every study in a storage with its kind, objectives and trial counts."""
    storage = open_storage(url, create=False)
    listings = []
    for name in study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        complete = sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        objectives = tuple(o.name for o in study_objectives(study))
        listings.append(StudyListing(name, study.user_attrs.get("kind", "?"), objectives, complete, len(trials)))
    return listings


def describe_study(study: optuna.Study) -> list[str]:
    """Lines describing a study: kind, objectives, constraints, trial states, baseline, front, knee, hypervolume."""
    summary = pareto_summary(study)
    lines = [
        f"study {study.study_name} (kind {study.user_attrs.get('kind', '?')})",
        "objectives: " + ", ".join(f"{o.name} ({o.direction}; {o.label})" for o in summary.objectives),
    ]
    constraints = study.user_attrs.get("constraints") or []
    if constraints:
        lines.append("constraints: " + ", ".join(_constraint_text(c) for c in constraints))
    lines.append(f"trials: {trial_counts(study)}")
    if summary.baseline:
        first = {n: summary.baseline[n] for n in summary.names if n in summary.baseline}
        lines.append("baseline: " + _values({**first, **summary.baseline}))
    if summary.knee_trial is None:
        lines.append("front: no completed feasible trials yet")
        return lines
    knee = summary.front[summary.front["knee"]].iloc[0]
    lines.append(f"front: {len(summary.front)} of {len(summary.trials)} completed trials")
    lines.append(f"knee: trial {summary.knee_trial} ({_values({n: knee[n] for n in summary.names})})")
    reference = _values(dict(zip(summary.names, summary.reference_point)))
    lines.append(f"hypervolume: {summary.hypervolume:.6g} (reference point {reference})")
    lines.append("")
    repeated = ["count"] if (summary.front["count"] > 1).any() else []
    lines.append(summary.front[["trial", *repeated, *summary.names]].to_string(index=False))
    return lines


def _constraint_text(constraint: dict) -> str:
    bound = "max" if "max" in constraint else "min"
    return f"{constraint['metric']} {'<=' if bound == 'max' else '>='} {constraint[bound]:g}"


def _values(values: dict) -> str:
    return ", ".join(f"{name}={float(value):.4g}" for name, value in values.items())
