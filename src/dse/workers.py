"""Many workers on one study: claiming trials up to a target, per-trial seeds, and trials of dead workers.

Any number of processes (and threads) may run one study against a shared
storage. Each claims its next trial under the storage's claim lock
(`dse.storage.claim_lock`): it counts the finished trials (COMPLETE and
PRUNED) and those running, and asks for a new trial only while the two
together fall short of the target, so the study ends with exactly the target
of finished trials. A worker that finds the target covered by trials still
running in live workers waits for them, and takes over if one of them fails.

Each trial records its worker (host, process id and start time) in a system
attribute. A RUNNING trial whose worker on this host is gone is failed
whenever a worker claims a trial or a study is opened for a run or a report,
and so is one without a mark (its worker died while claiming it); RDB
storages also fail trials whose heartbeat has stopped for the grace period
(any host).

Every trial draws its samples from a sampler seeded with the study seed plus
the trial number: trial numbers are unique in a study, so workers started
together never draw the same samples, and a single worker is reproducible
from the seed.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import optuna
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from dse.errors import Stopped
from dse.storage import claim_lock, heartbeat
from dse.storage_urls import storage_file

WORKER_ATTR = "gatedse:worker"
WAIT_S = 0.5


@dataclass(frozen=True)
class TrialCounts:
    """Trials of a study by state."""

    complete: int
    pruned: int
    failed: int
    running: int

    @property
    def finished(self) -> int:
        """Trials that count towards the study's target: completed and pruned (failed ones are retried)."""
        return self.complete + self.pruned

    def __str__(self) -> str:
        return f"{self.complete} completed, {self.pruned} pruned, {self.failed} failed, {self.running} running"


def trial_counts(study: optuna.Study) -> TrialCounts:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return TrialCounts(states.count(TrialState.COMPLETE), states.count(TrialState.PRUNED),
                       states.count(TrialState.FAIL), states.count(TrialState.RUNNING))


class PerTrialSeedSampler(BaseSampler):
    """Each trial gets its own sampler, seeded with `seed + trial.number`; samplers read the history from the study.

    `make(seed)` builds the underlying sampler. The grid sampler's wish to stop
    the study when its grid is covered is left out: the workers' target does it.
    """

    def __init__(self, make: Callable[[int], BaseSampler], seed: int):
        self._make = make
        self._seed = seed
        self._by_trial: dict[int, BaseSampler] = {}
        self._lock = threading.Lock()

    def _sampler(self, trial: FrozenTrial) -> BaseSampler:
        with self._lock:
            if trial.number not in self._by_trial:
                self._by_trial[trial.number] = self._make(self._seed + trial.number)
            return self._by_trial[trial.number]

    def infer_relative_search_space(self, study, trial):
        return self._sampler(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._sampler(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._sampler(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study, trial) -> None:
        self._sampler(trial).before_trial(study, trial)

    def after_trial(self, study, trial, state: TrialState, values: Sequence[float] | None) -> None:
        with self._lock:
            sampler = self._by_trial.pop(trial.number, None)
        if sampler is not None and not isinstance(sampler, optuna.samplers.GridSampler):
            sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        """Seeds derive from the trial numbers; there is no shared generator to reseed."""


def worker_mark() -> str:
    """`host:pid:start` of this process; the start time tells a live process from a later one with the same id."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or '' where /proc is absent or it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def worker_alive(mark: str) -> bool | None:
    """Whether the process a mark names still runs; None when it ran on another host (unknown here)."""
    host, pid, start = mark.rsplit(":", 2)
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's live process
    return _start_time(int(pid)) == start


def fail_stale_trials(study: optuna.Study, claiming: bool = False) -> list[int]:
    """Fail the RUNNING trials whose worker is gone (same host) or whose heartbeat stopped; their numbers.

    `claiming` says the caller holds the claim lock across processes: then no claim is half done,
    and a RUNNING trial without a worker mark is one whose worker died between
    creating it and marking it.
    """
    storage = study._storage  # Optuna offers no public accessor; the storage API itself is public
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        optuna.storages.fail_stale_trials(study)
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    failed = before - {t.number for t in running}
    for trial in running:
        mark = trial.system_attrs.get(WORKER_ATTR)
        if (worker_alive(mark) is False) if mark is not None else claiming:
            study_id = storage.get_study_id_from_name(study.study_name)
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            try:
                if storage.set_trial_state_values(trial_id, TrialState.FAIL):
                    failed.add(trial.number)
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # another worker got there first
    return sorted(failed)


def fail_dead_trials(study: optuna.Study, url: str) -> list[int]:
    """`fail_stale_trials` for a report or a new run: under the claim lock, so that no claim is half done and a
    trial without a worker mark (its worker died while claiming it) is failed too. A storage file this user may
    only read can be neither locked nor changed: it is reported as it is, a dead worker's trial as running."""
    path = storage_file(url)
    if path is not None and not os.access(path, os.W_OK):
        return []
    with claim_lock(study._storage, url, study.study_name) as exclusive:
        return fail_stale_trials(study, claiming=exclusive)


class Workers:
    """Run a study's trials in `jobs` threads of this process, cooperating with other processes.

    With `target` the workers stop once the study holds that many finished
    trials; with `count` this process runs exactly `count` more trials.
    """

    def __init__(self, study: optuna.Study, storage: optuna.storages.BaseStorage, url: str,
                 objective: Callable[[optuna.Trial], Sequence[float]], target: int | None = None,
                 count: int | None = None, stop: threading.Event | None = None,
                 callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = ()):
        self.study = study
        self.storage = storage
        self.url = url
        self.objective = objective
        self.target = target
        self.count = count
        self.stop = stop or threading.Event()
        self.callbacks = callbacks
        self._count_lock = threading.Lock()
        self._mark = worker_mark()
        self._study_id = storage.get_study_id_from_name(study.study_name)

    def run(self, jobs: int = 1) -> None:
        if jobs == 1:
            self._loop()
            return
        with ThreadPoolExecutor(jobs) as pool:
            futures = [pool.submit(self._loop) for _ in range(jobs)]
            try:
                for future in futures:
                    future.result()
            finally:
                self.stop.set()

    def _loop(self) -> None:
        try:
            while (trial := self._claim()) is not None:
                self._run(trial)
        except BaseException:
            self.stop.set()  # the other threads end after their trials in flight
            raise

    def _claim(self) -> optuna.Trial | None:
        """A new RUNNING trial of this worker, or None when the study needs no more from it."""
        while not self.stop.is_set():
            with claim_lock(self.storage, self.url, self.study.study_name) as exclusive:
                fail_stale_trials(self.study, claiming=exclusive)
                decision = self._decide()
                if decision == "run":
                    return self._ask()
            if decision == "done":
                return None
            time.sleep(WAIT_S)
        return None

    def _decide(self) -> str:
        """'run' a new trial, 'wait' for trials in flight elsewhere, or 'done'."""
        if self.count is not None:
            with self._count_lock:
                if self.count == 0:
                    return "done"
                self.count -= 1
                return "run"
        counts = trial_counts(self.study)
        if counts.finished >= self.target:
            return "done"
        if counts.finished + counts.running < self.target:
            return "run"
        return "wait" if self._others_may_finish() else "done"

    def _others_may_finish(self) -> bool:
        """Whether a running trial may still finish: its worker lives here, or the storage has a heartbeat."""
        if heartbeat_enabled(self.storage):
            return True
        running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        return any(worker_alive(t.system_attrs.get(WORKER_ATTR, "?:0:")) for t in running)

    def _ask(self) -> optuna.Trial:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Heartbeat of storage")
            trial = self.study.ask()
        self.storage.set_trial_system_attr(self._trial_id(trial), WORKER_ATTR, self._mark)
        return trial

    def _trial_id(self, trial: optuna.Trial) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self._study_id, trial.number)

    def _run(self, trial: optuna.Trial) -> None:
        with heartbeat(self.storage, self._trial_id(trial)):
            try:
                values = self.objective(trial)
            except optuna.TrialPruned:
                frozen = self.study.tell(trial, state=TrialState.PRUNED)
            except Stopped:  # stopped on request: the trial is failed (a later run retries it), no other claimed
                self.stop.set()
                frozen = self.study.tell(trial, state=TrialState.FAIL)
            except BaseException:
                self.study.tell(trial, state=TrialState.FAIL)
                raise
            else:
                frozen = self.study.tell(trial, values)
        for callback in self.callbacks:
            callback(self.study, frozen)


def heartbeat_enabled(storage: optuna.storages.BaseStorage) -> bool:
    return isinstance(storage, optuna.storages.RDBStorage) and storage.get_heartbeat_interval() is not None
