"""Running, resuming and sharing studies: trials, attributes, samplers, storages, and a killed worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import wsgiref.util
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import tests.dse.toykind  # noqa: F401  (registers the "toy" kind)
from dse.config import load_study_config
from dse.errors import StudyError
from dse.frames import trials_frame
from dse.runner import run_study
from dse.storage import load_study
from tests.dse.toykind import write_study

REPO = Path(__file__).resolve().parents[2]
TWO = 'error = "minimize"\nenergy_nJ = "minimize"'


def complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def test_trials_record_objectives_metrics_and_constraints(tmp_path):
    path = write_study(tmp_path, trials=5, objectives=TWO,
                       sampler='name = "random"\n[[constraints]]\nmetric = "error_increase"\nmax = 1.0')
    url = f"sqlite:///{tmp_path}/s.db"
    study = run_study(load_study_config(path), url, progress=False)
    trials = complete(study)
    assert len(trials) == 5
    assert study.metric_names == ["error", "energy_nJ"]
    assert [o["name"] for o in study.user_attrs["objectives"]] == ["error", "energy_nJ"]
    assert study.user_attrs["kind"] == "toy"
    assert study.user_attrs["baseline:error"] == pytest.approx(4.0 / 3)
    for trial in trials:
        assert trial.values == [trial.user_attrs["error"], trial.user_attrs["energy_nJ"]]
        assert set(trial.user_attrs) >= {"error", "energy_nJ", "score", "error_increase"}
        violation = trial.user_attrs["error_increase"] - 1.0
        assert trial.system_attrs["constraints"] == [pytest.approx(violation)]  # as Optuna's constraints_func
        assert trial.constraints == {"0": pytest.approx(violation)}
    table = trials_frame(study)
    assert (table["constraint:error_increase:max"] == table["error_increase"] - 1.0).all()
    feasible = [t.number for t in trials if t.user_attrs["error_increase"] <= 1.0]
    assert 0 < len(feasible) < 5  # the front logic sees both kinds
    assert sorted(table.loc[table["feasible"], "trial"]) == feasible
    assert {t.number for t in study.best_trials} <= set(feasible)  # Optuna reads them too


def test_optuna_dashboard_reports_constraints(tmp_path):
    """optuna-dashboard's own API sees a violating trial's positive constraint and a feasible one's non-positive."""
    dashboard = pytest.importorskip("optuna_dashboard", reason="optuna-dashboard is not installed")
    path = write_study(tmp_path, trials=5, objectives=TWO,
                       sampler='name = "random"\n[[constraints]]\nmetric = "error_increase"\nmax = 1.0')
    url = f"sqlite:///{tmp_path}/s.db"
    study = run_study(load_study_config(path), url, progress=False)
    storage = optuna.storages.get_storage(url)
    app = dashboard.wsgi(storage)
    environ: dict = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ["PATH_INFO"] = f"/api/studies/{storage.get_study_id_from_name(study.study_name)}"
    status = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    assert status == ["200 OK"]
    served = {t["number"]: t["constraints"] for t in json.loads(body)["trials"]}
    increases = {t.number: t.user_attrs["error_increase"] for t in complete(study)}
    assert any(v > 1.0 for v in increases.values()) and any(v <= 1.0 for v in increases.values())
    for number, increase in increases.items():
        assert served[number] == [pytest.approx(increase - 1.0)]
        assert (served[number][0] > 0) == (increase > 1.0)


def test_rerun_resumes_and_n_trials_adds_exactly(tmp_path):
    config = load_study_config(write_study(tmp_path, trials=4))
    url = f"sqlite:///{tmp_path}/s.db"
    first = [t.values for t in complete(run_study(config, url, progress=False))]
    again = run_study(config, url, progress=False)
    assert [t.values for t in complete(again)] == first  # nothing missing: nothing run
    more = run_study(config, url, n_trials=3, progress=False)
    assert len(complete(more)) == 7
    assert [t.values for t in complete(more)][:4] == first


def test_fresh_runs_with_one_seed_are_reproducible(tmp_path):
    config = load_study_config(write_study(tmp_path, trials=4))
    a = run_study(config, f"sqlite:///{tmp_path}/a.db", progress=False)
    b = run_study(config, f"sqlite:///{tmp_path}/b.db", progress=False)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]


@pytest.mark.parametrize("sampler", ['name = "nsga2"\npopulation = 4', 'name = "nsga3"\npopulation = 4',
                                     'name = "tpe"\nstartup_trials = 3', 'name = "random"'])
def test_every_sampler_runs_a_constrained_study(tmp_path, sampler):
    config = load_study_config(write_study(
        tmp_path, trials=7, sampler=sampler + '\n[[constraints]]\nmetric = "error_increase"\nmax = 2.0'))
    assert len(complete(run_study(config, f"sqlite:///{tmp_path}/s.db", progress=False))) == 7


def test_grid_sampler_covers_the_kinds_discrete_space(tmp_path):
    config = load_study_config(write_study(tmp_path, trials=100, sampler='name = "grid"', space="discrete = true"))
    study = run_study(config, f"sqlite:///{tmp_path}/s.db", progress=False)
    assert sorted((t.params["x"], t.params["w"]) for t in complete(study)) == sorted(
        (x, w) for x in (0.0, 0.5, 1.0) for w in range(-2, 3))


def test_journal_storage(tmp_path):
    config = load_study_config(write_study(tmp_path, trials=3))
    url = f"journal:///{tmp_path}/studies.log"
    run_study(config, url, progress=False)
    assert len(complete(load_study("toy-study", url))) == 3
    assert (tmp_path / "studies.log").stat().st_size > 0
    assert len(complete(load_study("toy-study", f"journal:{tmp_path}/studies.log"))) == 3  # the short spelling


def test_same_name_with_other_objectives_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    run_study(load_study_config(write_study(tmp_path, trials=2, objectives=TWO)), url, progress=False)
    other = load_study_config(write_study(tmp_path, trials=2, objectives='error = "minimize"\nscore = "maximize"'))
    with pytest.raises(StudyError, match=r"has objectives \(error, energy_nJ\) but .* asks for \(error, score\)"):
        run_study(other, url, progress=False)


def start_worker(path: Path, url: str) -> subprocess.Popen:
    """`dse study run` in another process (registering the toy kind first)."""
    code = ("import sys, tests.dse.toykind; from dse.cli import main; "
            f"sys.exit(main(['study', 'run', {str(path)!r}, '--storage', {url!r}]))")
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_in_flight(worker: subprocess.Popen, url: str, completed: int) -> None:
    """Wait until the study has `completed` trials and another one running."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            states = [t.state for t in load_study("toy-study", url).get_trials(deepcopy=False)]
        except StudyError:  # not created yet
            states = []
        if states.count(TrialState.COMPLETE) >= completed and TrialState.RUNNING in states:
            return
        assert worker.poll() is None, f"the worker ended early: {worker.stderr.read().decode()[-500:]}"
        time.sleep(0.05)
    pytest.fail(f"the worker did not reach {completed} trials in time")


def test_stop_event_claims_no_new_trial(tmp_path):
    stop = threading.Event()
    stop.set()
    config = load_study_config(write_study(tmp_path, trials=5))
    study = run_study(config, f"sqlite:///{tmp_path}/s.db", progress=False, stop=stop)
    assert study.trials == []


def test_ctrl_c_finishes_the_trial_in_flight_and_exits_130(tmp_path):
    flag = tmp_path / "slow"
    flag.touch()
    path = write_study(tmp_path, trials=50, space=f'sleep_while = "{flag}"')
    url = f"sqlite:///{tmp_path}/s.db"
    worker = start_worker(path, url)
    try:
        wait_until_in_flight(worker, url, completed=1)
        worker.send_signal(signal.SIGINT)
        _, err = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert worker.returncode == 130
    assert b"stopped on request" in err and b"Traceback" not in err
    states = {t.state for t in load_study("toy-study", url).trials}
    assert states == {TrialState.COMPLETE}


def test_killed_worker_loses_only_its_trial_in_flight_and_the_study_completes(tmp_path):
    flag = tmp_path / "slow"
    path = write_study(tmp_path, trials=12, space=f'sleep_while = "{flag}"')
    url = f"sqlite:///{tmp_path}/s.db"
    config = load_study_config(path)
    first = {t.number: t.values for t in complete(run_study(config, url, n_trials=3, progress=False))}

    flag.touch()  # the worker now sleeps in every trial, so it is killed with a trial in flight
    worker = start_worker(path, url)
    try:
        wait_until_in_flight(worker, url, completed=6)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.communicate()
    assert worker.returncode == -signal.SIGKILL

    killed = load_study("toy-study", url)
    survived = {t.number: t.values for t in complete(killed)}
    assert len(survived) >= 6
    assert all(survived[n] == v for n, v in first.items())
    assert any(t.state == TrialState.RUNNING for t in killed.trials)  # the one in flight

    flag.unlink()
    resumed = run_study(config, url, progress=False)
    done = {t.number: t.values for t in complete(resumed)}
    assert len(done) == 12
    assert all(done[n] == v for n, v in survived.items())


def test_parallel_jobs_share_one_study(tmp_path):
    config = load_study_config(write_study(tmp_path, trials=8))
    study = run_study(config, f"sqlite:///{tmp_path}/s.db", jobs=3, progress=False)
    assert len(complete(study)) == 8


def test_inline_characterization_feeds_the_kind(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEDSE_CACHE_DIR", str(tmp_path / "cache"))
    path = write_study(tmp_path, trials=2)
    path.write_text(path.read_text().replace('path = "lut.csv"', "bits = 3\nvectors = 20\nweights = [-2, -1, 0, 1, 2]"))
    study = run_study(load_study_config(path), f"sqlite:///{tmp_path}/s.db", progress=False)
    assert len(complete(study)) == 2
    assert any((tmp_path / "cache" / "sweep").iterdir())
