"""The trial a kind's report describes: the one asked for, else the knee of the study's Pareto front."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from dse.frames import pareto_summary
from studies.errors import StudiesError


def report_trial(study: optuna.Study, kind: str, trial: int | None = None) -> optuna.trial.FrozenTrial:
    """Completed trial `trial` of a study of kind `kind` (default: the knee); StudiesError naming what is wrong."""
    stored = study.user_attrs.get("kind")
    if stored is not None and stored != kind:
        raise StudiesError(f"study {study.study_name!r} is of kind {stored!r}, not {kind}")
    if trial is None:
        trial = pareto_summary(study).knee_trial
        if trial is None:
            raise StudiesError(f"study {study.study_name!r} has no completed feasible trial")
    trials = {t.number: t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    if trial not in trials:
        raise StudiesError(f"study {study.study_name!r} has no completed trial {trial}")
    return trials[trial]
