"""Run Optuna studies of a study kind: create or resume by name, sample, evaluate, record.

A rerun of a study resumes it: only the trials still missing to reach the
study file's `trials` run (COMPLETE and PRUNED trials count as finished), and
any number of processes may run one study together: they stop at exactly the
target (`dse.workers`). The storages write each trial as it finishes, so a
crash loses at most the trials in flight, and the next run fails the trials a
dead worker left RUNNING. Each trial is sampled with the seed plus its trial
number: a fresh single-process run is reproducible, and workers never repeat
each other's samples.

Each trial records every metric the kind returns as a user attribute under
its own name, and its constraint violations (<= 0 feasible) in the study
file's order as a list under the system attribute `constraints`, as Optuna's
samplers' `constraints_func` stores them, where the samplers, `best_trials`
and optuna-dashboard read them (`dse.frames` names them `<metric>:max|min`). The study records at creation `kind`, `objectives`
(name, direction, label), `constraints`, `study_file`, `study_toml`, and the
unrestricted design's metrics as `baseline:<metric>`.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import optuna
from optuna.trial import TrialState
from tqdm.auto import tqdm

from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.lut.table import Lut
from characterize.passes.designs import MultiplierSpec
from dse.config import Constraint, LutSource, SamplerConfig, StudyConfig
from dse.errors import StudyError
from dse.frames import BASELINE_PREFIX, CONSTRAINTS_ATTR, constraint_names, named_constraints
from dse.kinds import Objective, StudyContext, StudyKind, kind
from dse.storage import open_storage, study_names
from dse.storage_urls import DEFAULT_STORAGE, storage_file
from dse.workers import PerTrialSeedSampler, Workers, fail_dead_trials, trial_counts

SHARED_CACHE = "qat-baselines"


def run_study(
    config: StudyConfig,
    storage: str | None = None,
    n_trials: int | None = None,
    jobs: int = 1,
    progress: bool = True,
    stop: threading.Event | None = None,
) -> optuna.Study:
    """Create or resume the study and run its missing trials (or exactly `n_trials` more).

    `storage` overrides the study file's storage URL (default: sqlite:///dse-studies.db). `progress` shows
    progress bars (trials, and the kind's training) on stderr and a line per finished trial.
    Setting `stop` (from a signal handler or another thread) ends the run: training in flight stops at its next
    batch and its trial is marked failed (a later run retries it); work that does not train ends with its trial.
    Stopped before the study's first trial could start (while the baseline trains), it raises
    `dse.errors.Stopped` and stores nothing. The study is created only once its kind has started (LUT, data and
    baseline ready), so a failed start leaves no empty study behind.
    """
    url = storage or config.storage or DEFAULT_STORAGE
    kind_cls = kind(config.kind)
    opened = open_storage(url)
    study = _stored_study(opened, config, url)
    target = _target(config)
    if study is not None and n_trials is None and trial_counts(study).finished >= target:
        return study
    instance = kind_cls(config.space, study_context(config, url, progress, stop))
    if study is None or "objectives" not in study.user_attrs:
        baseline = instance.baseline()
        if study is None:  # created only now that the kind could start: a failed start leaves no empty study
            study = optuna.create_study(study_name=config.name, storage=opened,
                                        directions=[o.direction for o in config.objectives], load_if_exists=True)
            _check_matches(study, config, url)
        _record_study(study, config, baseline)
    # The grid sampler's seed shuffles the grid's order, which must be one for all trials.
    fixed = config.sampler.name == "grid"
    study.sampler = PerTrialSeedSampler(
        lambda seed: build_sampler(config.sampler, config.seed if fixed else seed), config.seed)
    callbacks = [_print_trial] if progress else []
    total = n_trials or target - trial_counts(study).finished
    with tqdm(total=total, disable=not progress, unit="trial") as bar:
        workers = Workers(study, opened, url, TrialObjective(instance, config.objectives, config.constraints),
                          target=None if n_trials else target, count=n_trials, stop=stop,
                          callbacks=[*callbacks, lambda study, trial: bar.update()])
        workers.run(jobs)
    return study


def _target(config: StudyConfig) -> int:
    """Finished trials the study file asks for; a grid has no more than its points."""
    if config.sampler.name == "grid":
        return min(config.trials, math.prod(len(values) for values in config.sampler.grid.values()))
    return config.trials


class TrialObjective:
    """Optuna objective around a kind: evaluate, record metrics and constraints, return objectives in config order."""

    def __init__(self, instance: StudyKind, objectives: tuple[Objective, ...], constraints: tuple[Constraint, ...]):
        self.instance = instance
        self.objectives = objectives
        self.constraints = constraints

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        metrics = self.instance.evaluate(trial)
        needed = [o.name for o in self.objectives] + [c.metric for c in self.constraints]
        missing = [name for name in needed if name not in metrics]
        if missing:
            raise StudyError(
                f"kind {self.instance.name!r} reported no {', '.join(missing)} "
                f"(it reported: {', '.join(metrics) or 'nothing'})"
            )
        for name, value in metrics.items():
            trial.set_user_attr(name, float(value))
        if self.constraints:
            _store_constraints(trial, [c.violation(float(metrics[c.metric])) for c in self.constraints])
        return tuple(float(metrics[o.name]) for o in self.objectives)


def _store_constraints(trial: optuna.Trial, violations: list[float]) -> None:
    """The trial's constraint violations where Optuna's `constraints_func` puts them (optuna-dashboard reads only these)."""
    storage = trial.storage
    study_id = storage.get_study_id_from_name(trial.study.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
    storage.set_trial_system_attr(trial_id, CONSTRAINTS_ATTR, violations)


def build_sampler(config: SamplerConfig, seed: int) -> optuna.samplers.BaseSampler:
    """The Optuna sampler a study file names, seeded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if config.name == "nsga2":
            return optuna.samplers.NSGAIISampler(population_size=config.population or 50, seed=seed)
        if config.name == "nsga3":
            return optuna.samplers.NSGAIIISampler(population_size=config.population or 50, seed=seed)
        if config.name == "tpe":
            startup = 10 if config.startup_trials is None else config.startup_trials
            return optuna.samplers.TPESampler(multivariate=True, n_startup_trials=startup, seed=seed)
        if config.name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        return optuna.samplers.GridSampler(config.grid, seed=seed)


def load_lut(source: LutSource, progress: bool = False) -> Lut:
    """The study's LUT: read from its CSV, or characterized inline (cached by the sweep, so reruns are instant;
    `progress` shows the sweep's progress bar)."""
    if source.path is not None:
        return replace(Lut.load(source.path), missing=source.missing)
    return replace(run_sweep(_sweep_config(source.inline), jobs=source.inline["jobs"], progress=progress),
                   missing=source.missing)


def characterize_sequence(source: LutSource, sequence: Sequence[int]) -> Lut:
    """The study's inline LUT characterized again with the given activation sequence (e.g. one layer's stream)
    instead of its own seeded draw; cached by the sweep under the sequence's content."""
    if source.inline is None:
        raise StudyError("characterizing with recorded activations needs an inline [lut] (bits = ..., not path)")
    config = replace(_sweep_config(source.inline), vectors=len(sequence) - 1,
                     sequence=tuple(int(a) for a in sequence))
    return replace(run_sweep(config, jobs=source.inline["jobs"], progress=False), missing=source.missing)


def _sweep_config(inline: dict) -> SweepConfig:
    library = inline["library"]
    return SweepConfig(
        spec=MultiplierSpec(inline["bits"], inline["signed"], inline["arch"], inline["adder"]),
        mode=inline["mode"],
        weights=inline["weights"],
        vectors=inline["vectors"],
        seed=inline["seed"],
        library=None if library is None else str(library.resolve()),
    )


def workdir(config: StudyConfig, url: str) -> Path:
    """Folder where a kind may cache files of this study: beside a file storage, else beside the study file."""
    return _storage_folder(config, url) / config.name


def cache_folder(config: StudyConfig, url: str) -> Path:
    """Folder of what studies share (trained baselines): [study] cache, else `qat-baselines` beside the storage."""
    return config.cache or _storage_folder(config, url) / SHARED_CACHE


def _storage_folder(config: StudyConfig, url: str) -> Path:
    path = storage_file(url)
    return config.path.parent if path is None else path.parent


def study_context(config: StudyConfig, url: str, progress: bool = False,
                  stop: threading.Event | None = None) -> StudyContext:
    """The context a kind runs in: the LUT (read, or characterized inline), the tables, its folders (created),
    whether it shows progress and the event that stops it."""
    folder = workdir(config, url)
    folder.mkdir(parents=True, exist_ok=True)
    per_layer = config.lut.inline is not None and config.lut.inline["activations"] == "per-layer"
    return StudyContext(load_lut(config.lut, progress), config.data, config.model, config.seed, config.device, folder,
                        cache_folder(config, url), progress, stop, cost=config.cost,
                        characterize_with=partial(characterize_sequence, config.lut) if per_layer else None)


def _stored_study(storage: optuna.storages.BaseStorage, config: StudyConfig, url: str) -> optuna.Study | None:
    """The study of the file's name if the storage holds it (checked to match the file, its dead workers' trials
    failed), else None."""
    if config.name not in study_names(storage):
        return None
    study = optuna.load_study(study_name=config.name, storage=storage)
    _check_matches(study, config, url)
    fail_dead_trials(study, url)
    return study


def _check_matches(study: optuna.Study, config: StudyConfig, url: str) -> None:
    """A stored study of the same name must have the same objectives, or resuming it would mix results."""
    stored = study.user_attrs.get("objectives")
    stored_names = [o["name"] for o in stored] if stored else None
    asked = [o.name for o in config.objectives]
    directions = [o.direction for o in config.objectives]
    stored_directions = [
        "maximize" if d == optuna.study.StudyDirection.MAXIMIZE else "minimize" for d in study.directions
    ]
    if stored_directions != directions or (stored_names is not None and stored_names != asked):
        shown = ", ".join(stored_names or stored_directions)
        raise StudyError(
            f"study {config.name!r} in {url} has objectives ({shown}) but {config.path} asks for "
            f"({', '.join(asked)}); give the study another name"
        )


def _record_study(study: optuna.Study, config: StudyConfig, baseline: dict[str, float]) -> None:
    """Store what the study is (kind, objectives, constraints, file) and the unrestricted baseline."""
    for name, value in baseline.items():
        study.set_user_attr(BASELINE_PREFIX + name, float(value))
    study.set_user_attr("kind", config.kind)
    constraints = [{"metric": c.metric, "max" if c.upper else "min": c.bound} for c in config.constraints]
    study.set_user_attr("constraints", constraints)
    study.set_user_attr("study_file", str(config.path.resolve()))
    study.set_user_attr("study_toml", config.text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([o.name for o in config.objectives])
    study.set_user_attr("objectives", [asdict(o) for o in config.objectives])


def _print_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """One line per finished trial, printed above the progress bar."""
    if trial.state != TrialState.COMPLETE:
        tqdm.write(f"trial {trial.number}: {trial.state.name.lower()}")
        return
    names = study.metric_names or [f"objective_{i}" for i in range(len(trial.values))]
    values = ", ".join(f"{name}={value:.4g}" for name, value in zip(names, trial.values))
    violated = [name for name, v in named_constraints(trial, constraint_names(study)).items() if v > 0]
    tail = f" (violates {', '.join(violated)})" if violated else ""
    tqdm.write(f"trial {trial.number}: {values}{tail}")
