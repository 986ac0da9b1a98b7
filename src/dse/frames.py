"""Stored studies as tables: trials, the Pareto front, its knee and hypervolume, CSV and JSON export.

Column names: `trial`, `state`, `feasible`, one column per objective (its
name), `start` and `end` (ISO 8601 local time; empty while unknown) and
`duration_s`, `param:<name>` per parameter, `constraint:<metric>:max|min` per
constraint (its violation, feasible when <= 0), the trial's other user
attributes (hardware figures, constraint metrics, test accuracy) under their
own names, and the unrestricted baseline's metrics (the same in every row;
validation and test accuracy among them) as `baseline:<metric>`. A
front lists identical trials (same parameters, same objective values) once,
the first of them, with their number in `count`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from cells.files import atomic_path, write_text
from dse import pareto
from dse.kinds import Objective

BASELINE_PREFIX = "baseline:"
PARAM_PREFIX = "param:"
CONSTRAINT_PREFIX = "constraint:"
CONSTRAINTS_ATTR = "constraints"  # Optuna's trial system attribute: the list of violations
HYPERVOLUME_MARGIN = 0.1


def study_objectives(study: optuna.Study) -> tuple[Objective, ...]:
    """The objectives stored with the study at creation; for foreign studies, Optuna's metric names and directions."""
    stored = study.user_attrs.get("objectives")
    if stored:
        return tuple(Objective(o["name"], o["direction"], o["label"]) for o in stored)
    names = study.metric_names or [f"objective_{i}" for i in range(len(study.directions))]
    return tuple(
        Objective(name, "maximize" if d == optuna.study.StudyDirection.MAXIMIZE else "minimize", name)
        for name, d in zip(names, study.directions)
    )


def study_baseline(study: optuna.Study) -> dict[str, float]:
    """Metrics of the unrestricted design, stored as study attributes `baseline:<metric>`."""
    return {k[len(BASELINE_PREFIX):]: v for k, v in study.user_attrs.items() if k.startswith(BASELINE_PREFIX)}


def constraint_names(study: optuna.Study) -> list[str]:
    """`<metric>:max|min` of each constraint stored with the study at creation, in the study file's order."""
    stored = study.user_attrs.get("constraints") or []
    return [f"{c['metric']}:{'max' if 'max' in c else 'min'}" for c in stored]


def named_constraints(trial: optuna.trial.FrozenTrial, names: list[str]) -> dict[str, float]:
    """A trial's constraint violations by name; Optuna numbers the entries of its list "0", "1", ..."""
    return {_constraint_name(key, names): value for key, value in trial.constraints.items()}


def _constraint_name(key: str, names: list[str]) -> str:
    return names[int(key)] if key.isdigit() and int(key) < len(names) else key


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial, all states; objective columns are NaN for trials without values."""
    objectives = study_objectives(study)
    names = constraint_names(study)
    baseline = {BASELINE_PREFIX + k: v for k, v in study_baseline(study).items()}
    rows = []
    for trial in study.get_trials(deepcopy=False):
        row = {"trial": trial.number, "state": trial.state.name, "feasible": is_feasible(trial)}
        values = trial.values or [math.nan] * len(objectives)
        row.update({o.name: v for o, v in zip(objectives, values)})
        row.update(_times(trial))
        row.update({PARAM_PREFIX + k: v for k, v in trial.params.items()})
        row.update({CONSTRAINT_PREFIX + k: v for k, v in named_constraints(trial, names).items()})
        row.update({k: v for k, v in trial.user_attrs.items() if k not in row})
        row.update(baseline)
        rows.append(row)
    columns = ["trial", "state", "feasible", *(o.name for o in objectives)]
    return pd.DataFrame(rows, columns=None if rows else columns)


def _times(trial: optuna.trial.FrozenTrial) -> dict[str, str | float]:
    """A trial's start, end (ISO 8601, "" while unknown) and duration in seconds (NaN while unfinished)."""
    start, end = trial.datetime_start, trial.datetime_complete
    duration_s = (end - start).total_seconds() if start and end else math.nan
    return {"start": start.isoformat() if start else "", "end": end.isoformat() if end else "",
            "duration_s": duration_s}


def is_feasible(trial: optuna.trial.FrozenTrial) -> bool:
    """True when every constraint of the trial is met (no constraints: feasible)."""
    return all(v <= 0 for v in trial.constraints.values())


@dataclass(frozen=True)
class ParetoSummary:
    """The completed trials of a study, its front (feasible trials only), knee, hypervolume and baseline."""

    study_name: str
    objectives: tuple[Objective, ...]
    trials: pd.DataFrame
    front: pd.DataFrame
    knee_trial: int | None
    hypervolume: float
    reference_point: tuple[float, ...] | None
    baseline: dict[str, float]

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.objectives]


def pareto_summary(study: optuna.Study) -> ParetoSummary:
    """Front, knee and hypervolume of a study's completed feasible trials.

    The hypervolume's reference point is the worst value of each objective over
    the completed feasible trials, moved outwards by 10 % of its range (by 10 %
    of its magnitude, or 1, where the range is zero), so that the extremes of
    the front count too.
    """
    objectives = study_objectives(study)
    names = [o.name for o in objectives]
    directions = [o.direction for o in objectives]
    table = trials_frame(study)
    trials = table[table["state"] == TrialState.COMPLETE.name].reset_index(drop=True)
    candidates = trials[trials["feasible"].astype(bool)]
    values = candidates[names].to_numpy(dtype=float)
    mask = pareto.non_dominated(values, directions)
    front = _collapse_duplicates(candidates[mask], names).sort_values([names[0], "trial"]).reset_index(drop=True)
    knee, volume, reference = None, 0.0, None
    if len(front):
        knee = int(front["trial"].iloc[pareto.knee_point(front[names].to_numpy(dtype=float), directions)])
        reference = _reference_point(values, directions)
        volume = pareto.hypervolume(front[names].to_numpy(dtype=float), directions, reference)
    front.insert(1, "knee", front["trial"] == knee)
    return ParetoSummary(study.study_name, objectives, trials, front, knee, volume, reference, study_baseline(study))


def _collapse_duplicates(front: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """One row per distinct (parameters, objective values), the lowest trial number, with their number in `count`."""
    key = [*names, *(c for c in front.columns if c.startswith(PARAM_PREFIX))]
    ordered = front.sort_values("trial")
    groups = ordered.groupby(key, dropna=False, sort=False)
    first = ordered.loc[groups.head(1).index].copy()
    first.insert(1, "count", groups["trial"].transform("size").loc[first.index].astype(int))
    return first


def _reference_point(values: np.ndarray, directions: list[str]) -> tuple[float, ...]:
    minimized = pareto.as_minimization(values, directions)
    worst, best = minimized.max(axis=0), minimized.min(axis=0)
    span = np.where(worst > best, worst - best, np.maximum(np.abs(worst), 1.0))
    return tuple(float(v) for v in pareto.as_minimization((worst + HYPERVOLUME_MARGIN * span)[None, :], directions)[0])


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as partial:
        frame.to_csv(partial, index=False)


def write_json(summary: ParetoSummary, path: str | Path) -> None:
    """The front as JSON: objectives, baseline, knee, hypervolume and its reference, and each front trial."""
    params = [c for c in summary.front.columns if c.startswith(PARAM_PREFIX)]
    document = {
        "study": summary.study_name,
        "objectives": [{"name": o.name, "direction": o.direction, "label": o.label} for o in summary.objectives],
        "baseline": summary.baseline,
        "knee_trial": summary.knee_trial,
        "hypervolume": summary.hypervolume,
        "reference_point": summary.reference_point and dict(zip(summary.names, summary.reference_point)),
        "completed_trials": len(summary.trials),
        "front": [
            {
                "trial": int(row["trial"]),
                "count": int(row["count"]),
                "values": {name: float(row[name]) for name in summary.names},
                "params": {c[len(PARAM_PREFIX):]: _plain(row[c]) for c in params if not _missing(row[c])},
            }
            for _, row in summary.front.iterrows()
        ],
    }
    write_text(path, json.dumps(document, indent=2) + "\n")


def _missing(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _plain(value):
    """numpy scalars as Python numbers for JSON."""
    return value.item() if isinstance(value, np.generic) else value
