"""Many workers on one study: distinct samples, exactly the target, stale trials, every storage kind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

import tests.dse.toykind  # noqa: F401  (registers the "toy" kind)
from dse.cli import main
from dse.config import load_study_config
from dse.errors import StudyError
from dse.runner import run_study
from dse.storage import load_study, open_storage
from dse.workers import TrialCounts, trial_counts
from tests.dse.toykind import write_study

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120


def start_worker(path: Path, url: str) -> subprocess.Popen:
    """`dse study run` in another process (registering the toy kind first)."""
    code = ("import sys, tests.dse.toykind; from dse.cli import main; "
            f"sys.exit(main(['study', 'run', {str(path)!r}, '--storage', {url!r}]))")
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_together(path: Path, url: str, workers: int) -> None:
    processes = [start_worker(path, url) for _ in range(workers)]
    try:
        errors = [p.communicate(timeout=TIMEOUT_S)[1].decode() for p in processes]
    finally:
        for p in processes:
            p.kill()
    assert [p.returncode for p in processes] == [0] * workers, errors


def slow_study(tmp_path: Path, trials: int, sampler: str = 'name = "random"') -> Path:
    """A toy study whose trials sleep a second each, so that workers started together overlap."""
    flag = tmp_path / "slow"
    flag.touch()
    return write_study(tmp_path, trials=trials, sampler=sampler, space=f'sleep_while = "{flag}"')


def check_shared_study(url: str, trials: int) -> None:
    study = load_study("toy-study", url)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * trials  # exactly the target, nothing else
    samples = {tuple(sorted(t.params.items())) for t in study.trials}
    assert len(samples) == trials  # no worker repeated another's sample


@pytest.mark.parametrize("storage", ["sqlite", "journal"])
def test_three_workers_started_together_draw_distinct_samples_and_stop_at_the_target(tmp_path, storage):
    path = slow_study(tmp_path, trials=7)
    url = f"sqlite:///{tmp_path}/s.db" if storage == "sqlite" else f"journal:///{tmp_path}/s.log"
    run_together(path, url, 3)
    check_shared_study(url, 7)


def test_nsga2_workers_on_postgresql(tmp_path, postgres_url):
    path = slow_study(tmp_path, trials=6, sampler='name = "nsga2"\npopulation = 4')
    run_together(path, postgres_url, 3)
    check_shared_study(postgres_url, 6)


def test_one_worker_is_reproducible_from_the_seed(tmp_path):
    config = load_study_config(write_study(tmp_path, trials=4))
    a = run_study(config, f"journal:///{tmp_path}/a.log", progress=False)
    b = run_study(config, f"journal:///{tmp_path}/b.log", progress=False)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]


def kill_in_flight(path: Path, url: str) -> None:
    """Start a worker, wait until it has a trial running after one completed, kill -9 it."""
    worker = start_worker(path, url)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                states = [t.state for t in load_study("toy-study", url).get_trials(deepcopy=False)]
            except StudyError:  # not created yet
                states = []
            if TrialState.COMPLETE in states and TrialState.RUNNING in states:
                break
            assert worker.poll() is None, worker.stderr.read().decode()[-500:]
            time.sleep(0.05)
        else:
            pytest.fail("the worker had no trial in flight in time")
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.communicate(timeout=TIMEOUT_S)


@pytest.mark.parametrize("storage", ["sqlite", "journal", "postgresql"])
def test_stale_trial_of_a_killed_worker_is_failed_on_open_and_reported_apart(tmp_path, storage, capsys, request):
    path = slow_study(tmp_path, trials=3)
    url = {"sqlite": f"sqlite:///{tmp_path}/s.db", "journal": f"journal:///{tmp_path}/s.log"}.get(storage) or \
        request.getfixturevalue("postgres_url")
    kill_in_flight(path, url)
    assert trial_counts(load_study("toy-study", url)).running == 1
    assert main(["study", "show", "toy-study", "--storage", url]) == 0
    assert "trials: 1 completed, 0 pruned, 1 failed, 0 running" in capsys.readouterr().out
    (tmp_path / "slow").unlink()
    assert main(["study", "run", str(path), "--storage", url]) == 0
    assert "study toy-study: 3 completed, 0 pruned, 1 failed, 0 running" in capsys.readouterr().out


def test_a_storage_file_this_user_may_only_read_is_reported_unchanged(tmp_path, capsys, monkeypatch):
    path = slow_study(tmp_path, trials=3)
    url = f"sqlite:///{tmp_path}/s.db"
    kill_in_flight(path, url)
    database = tmp_path / "s.db"
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *args, **kwargs:
                        False if Path(p) == database and mode == os.W_OK else access(p, mode, *args, **kwargs))
    assert main(["study", "show", "toy-study", "--storage", url]) == 0
    assert "trials: 1 completed, 0 pruned, 0 failed, 1 running" in capsys.readouterr().out
    assert trial_counts(load_study("toy-study", url)).running == 1


def test_a_live_workers_trial_is_not_failed(tmp_path):
    path = slow_study(tmp_path, trials=30)
    url = f"journal:///{tmp_path}/s.log"
    worker = start_worker(path, url)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (load_study_running(url)) and time.monotonic() < deadline:
            time.sleep(0.05)
        study = load_study("toy-study", url)
        from dse.workers import fail_stale_trials

        assert fail_stale_trials(study) == []
        assert trial_counts(study).running == 1
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.communicate(timeout=TIMEOUT_S)


def load_study_running(url: str) -> bool:
    try:
        return trial_counts(load_study("toy-study", url)).running > 0
    except StudyError:
        return False


def test_missing_postgres_driver_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StudyError, match=r"postgresql://u:\*\*\*@localhost:1/db: cannot open storage: "
                                         r"the Python module 'psycopg' is not installed \(pip install"):
        open_storage("postgresql://u:secret@localhost:1/db")


def test_postgres_extra_installs_the_driver_of_postgresql_urls():
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["postgres"]
    driver = sqlalchemy.engine.make_url("postgresql://u@h/db").get_dialect().driver  # what SQLAlchemy imports
    assert any(requirement.split("[")[0].split(">")[0] == driver for requirement in extra), (driver, extra)


@pytest.mark.parametrize("content", ["name,value\n1,2\n", "one line of notes\n", "no line end", '{"a": 1}\n'])
def test_journal_url_on_another_file_is_one_line_naming_it_and_leaves_it_alone(tmp_path, capsys, content):
    other = tmp_path / "notes.txt"
    other.write_text(content)
    path = write_study(tmp_path, trials=1)
    for command in (["study", "list"], ["study", "run", str(path)]):
        assert main([*command, "--storage", f"journal:///{other}"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"dse: error: {other}: not an Optuna journal file") and err.count("\n") == 1
    assert other.read_text() == content


def test_journal_being_started_by_another_worker_opens(tmp_path):
    journal = tmp_path / "s.log"
    config = load_study_config(write_study(tmp_path, trials=1))
    run_study(config, f"journal:///{journal}", progress=False)
    whole = journal.read_bytes()
    first_end = whole.index(b"\n") + 1
    journal.write_bytes(whole[:first_end // 2])  # the first record half written, as another process writes it

    def finish() -> None:
        with open(journal, "ab") as rest:
            rest.write(whole[first_end // 2:])

    finisher = threading.Timer(0.1, finish)
    finisher.start()
    try:
        assert trial_counts(load_study("toy-study", f"journal:///{journal}")).complete == 1
    finally:
        finisher.join()


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute", "a/b", "a\\b", "..", ".hidden"])
def test_study_names_that_leave_the_folder_are_refused(tmp_path, name):
    from dse.errors import ConfigError

    path = write_study(tmp_path)
    path.write_text(path.read_text().replace('name = "toy-study"', f"name = '{name}'"))  # TOML literal string
    with pytest.raises(ConfigError, match=r"study\.name: .* no path separators"):
        load_study_config(path)


def test_postgres_study_runs_and_resumes(tmp_path, postgres_url):
    config = load_study_config(write_study(tmp_path, trials=3))
    run_study(config, postgres_url, progress=False)
    study = run_study(config, postgres_url, n_trials=2, progress=False)
    assert trial_counts(study).complete == 5
    assert isinstance(optuna.load_study(study_name="toy-study", storage=postgres_url), optuna.Study)


def test_trial_left_unmarked_by_a_worker_killed_while_claiming_is_failed_by_a_report(tmp_path, capsys):
    config = load_study_config(write_study(tmp_path, trials=2))
    url = f"journal:///{tmp_path}/s.log"
    run_study(config, url, n_trials=1, progress=False)
    load_study("toy-study", url).ask()  # created, never marked: its worker died right here
    assert main(["study", "show", "toy-study", "--storage", url]) == 0
    assert "trials: 1 completed, 0 pruned, 1 failed, 0 running" in capsys.readouterr().out


def test_trial_left_unmarked_by_a_worker_killed_while_claiming_is_failed_at_the_next_claim(tmp_path):
    config = load_study_config(write_study(tmp_path, trials=2))
    url = f"sqlite:///{tmp_path}/s.db"
    run_study(config, url, n_trials=1, progress=False)
    half_claimed = load_study("toy-study", url).ask()  # created, never marked: its worker died right here
    study = run_study(config, url, progress=False)
    assert study.trials[half_claimed.number].state == TrialState.FAIL
    assert trial_counts(study) == TrialCounts(complete=2, pruned=0, failed=1, running=0)
