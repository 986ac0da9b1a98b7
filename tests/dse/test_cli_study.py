"""`dse study run|list|show|export` and `dse pareto` on stored toy studies."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pandas as pd
import pytest

import tests.dse.toykind  # noqa: F401  (registers the "toy" kind)
from dse.cli import main
from dse.storage import load_study
from tests.dse.test_pareto import brute_force_front
from tests.dse.toykind import write_study

MAGIC = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A finished 30-trial random study with two objectives and a constraint; returns (folder, storage URL)."""
    tmp_path = tmp_path_factory.mktemp("stored")
    path = write_study(tmp_path, trials=30, objectives='error = "minimize"\nenergy_nJ = "minimize"',
                       sampler='name = "random"\n[[constraints]]\nmetric = "error_increase"\nmax = 6.0')
    url = f"sqlite:///{tmp_path}/s.db"
    assert main(["study", "run", str(path), "--storage", url]) == 0
    return tmp_path, url


def test_run_prints_one_line_per_trial_and_a_summary(tmp_path, capsys):
    path = write_study(tmp_path, trials=3)
    assert main(["study", "run", str(path), "--storage", f"sqlite:///{tmp_path}/s.db"]) == 0
    out = capsys.readouterr().out
    assert out.count("trial ") >= 3 and "error=" in out
    assert "study toy-study: 3 completed, 0 pruned, 0 failed, 0 running (sqlite:///" in out


def test_run_uses_the_default_storage_in_the_current_folder(tmp_path, monkeypatch):
    path = write_study(tmp_path, trials=2)
    monkeypatch.chdir(tmp_path)
    assert main(["study", "run", str(path)]) == 0
    assert (tmp_path / "dse-studies.db").stat().st_size > 0
    assert main(["study", "list"]) == 0


def test_list_show_export(stored, capsys):
    folder, url = stored
    assert main(["study", "list", "--storage", url]) == 0
    line = [l for l in capsys.readouterr().out.splitlines() if l.startswith("toy-study")][0]
    assert line.split()[1:4] == ["toy", "30", "30"]
    assert main(["study", "show", "toy-study", "--storage", url]) == 0
    shown = capsys.readouterr().out
    assert "objectives: error (minimize; error (%)), energy_nJ (minimize" in shown
    assert "constraints: error_increase <= 6" in shown
    assert "trials: 30 completed, 0 pruned, 0 failed, 0 running" in shown and "knee: trial" in shown and "baseline: error=1.333, energy_nJ=40" in shown
    out = folder / "trials.csv"
    assert main(["study", "export", "toy-study", "--storage", url, "-o", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 30
    assert {"trial", "state", "feasible", "error", "energy_nJ", "param:x", "param:w", "score",
            "error_increase", "constraint:error_increase:max"} <= set(table.columns)
    assert (table["feasible"] == (table["constraint:error_increase:max"] <= 0)).all()
    assert np.allclose(table["constraint:error_increase:max"], table["error_increase"] - 6.0)
    assert np.allclose(table["baseline:error"], 4.0 / 3) and np.allclose(table["baseline:energy_nJ"], 40.0)


def test_pareto_exports_a_truly_non_dominated_front(stored):
    folder, url = stored
    args = ["pareto", "toy-study", "--storage", url, "-o", str(folder / "front.png"),
            "--csv", str(folder / "front.csv"), "--json", str(folder / "front.json")]
    assert main(args) == 0
    front = pd.read_csv(folder / "front.csv")
    assert {"trial", "knee", "count", "error", "energy_nJ", "param:x", "param:w", "start", "duration_s",
            "baseline:error", "baseline:energy_nJ"} <= set(front.columns)

    trials = [t for t in load_study("toy-study", url).trials if t.state == optuna.trial.TrialState.COMPLETE]
    feasible = [t for t in trials if t.user_attrs["error_increase"] <= 6.0]
    assert len(feasible) < len(trials)  # the constraint excludes some trials
    values = np.array([t.values for t in feasible])
    expected = {t.number for t, on in zip(feasible, brute_force_front(values, ["minimize", "minimize"])) if on}
    assert set(front["trial"]) == expected
    assert front["knee"].sum() == 1

    document = json.loads((folder / "front.json").read_text())
    assert {p["trial"] for p in document["front"]} == expected
    assert document["knee_trial"] in expected and document["hypervolume"] > 0
    assert document["baseline"]["error"] == pytest.approx(4.0 / 3)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_pareto_figure_formats(stored, suffix):
    folder, url = stored
    figure = folder / f"front{suffix}"
    assert main(["pareto", "toy-study", "--storage", url, "-o", str(figure)]) == 0
    assert figure.read_bytes().startswith(MAGIC[suffix])


def test_pareto_of_three_objectives_draws_pairwise_panels(tmp_path):
    path = write_study(tmp_path, trials=12)
    url = f"sqlite:///{tmp_path}/s.db"
    assert main(["study", "run", str(path), "--storage", url]) == 0
    assert main(["pareto", "toy-study", "--storage", url, "-o", str(tmp_path / "f.svg")]) == 0
    svg = (tmp_path / "f.svg").read_text()
    for label in ("error (%)", "energy per inference (nJ)", "score (a.u.)"):
        assert svg.count(label) >= 2 or label.replace(" ", "") in svg


def test_user_errors_are_one_line_with_exit_2(stored, capsys, tmp_path):
    _, url = stored
    assert main(["study", "show", "nope", "--storage", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dse: error: no study 'nope' in") and "toy-study" in err and err.count("\n") == 1
    assert main(["pareto", "toy-study", "--storage", url, "-o", str(tmp_path / "f.gif")]) == 2
    assert "unknown figure format .gif" in capsys.readouterr().err
    missing = tmp_path / "none.db"
    assert main(["study", "list", "--storage", f"sqlite:///{missing}"]) == 2
    assert "no such storage file" in capsys.readouterr().err and not missing.exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('[study]\nname = "x"\nkind = "toy"\ntrials = -3\n[lut]\npath = "lut.csv"\n')
    assert main(["study", "run", str(bad)]) == 2
    assert capsys.readouterr().err == f"dse: error: {bad}: study.trials: expected a positive integer, got -3\n"


def test_show_export_and_pareto_take_the_study_file(tmp_path, monkeypatch, capsys):
    """The file's name and storage (relative to the file, not the current folder) are used; --storage overrides."""
    study_dir = tmp_path / "studies"
    study_dir.mkdir()
    path = write_study(study_dir, trials=4, extra='storage = "journal:///toy.log"')
    assert main(["study", "run", str(path)]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(["study", "show", str(path)]) == 0
    assert "study toy-study (kind toy)" in capsys.readouterr().out
    assert main(["study", "list", str(path)]) == 0
    assert [line.split()[:4] for line in capsys.readouterr().out.splitlines()[1:]] == [["toy-study", "toy", "4", "4"]]
    assert main(["study", "export", str(path), "-o", str(tmp_path / "t.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "t.csv")) == 4
    assert main(["pareto", str(path), "-o", str(tmp_path / "front.png"), "--csv", str(tmp_path / "front.csv")]) == 0
    assert (tmp_path / "front.png").read_bytes().startswith(MAGIC[".png"])
    assert not (tmp_path / "dse-studies.db").exists()
    assert main(["study", "show", str(path), "--storage", f"sqlite:///{tmp_path}/other.db"]) == 2
    assert "no such storage file" in capsys.readouterr().err
    assert main(["study", "show", "toy-study", "--storage", f"journal:{study_dir}/toy.log"]) == 0
    assert "trials: 4 completed" in capsys.readouterr().out
    assert main(["study", "show", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: no such study file" in capsys.readouterr().err


def test_export_carries_trial_times(stored):
    folder, url = stored
    assert main(["study", "export", "toy-study", "--storage", url, "-o", str(folder / "times.csv")]) == 0
    table = pd.read_csv(folder / "times.csv")
    start, end = pd.to_datetime(table["start"]), pd.to_datetime(table["end"])
    assert (end >= start).all() and (start.diff().dropna() >= pd.Timedelta(0)).all()
    assert np.allclose(table["duration_s"], (end - start).dt.total_seconds())
    stored_trial = load_study("toy-study", url).trials[0]
    assert table["duration_s"][0] == pytest.approx(stored_trial.duration.total_seconds())


def test_identical_trials_show_once_on_the_front_with_a_count(tmp_path, capsys):
    path = write_study(tmp_path, trials=5, objectives='error = "minimize"\nenergy_nJ = "minimize"')
    url = f"sqlite:///{tmp_path}/s.db"
    assert main(["study", "run", str(path), "--storage", url]) == 0
    study = load_study("toy-study", url)
    best = min(study.trials, key=lambda t: t.values[0])
    for _ in range(2):
        study.enqueue_trial(best.params)
    assert main(["study", "run", str(path), "--storage", url, "--n-trials", "2"]) == 0
    copies = [t.number for t in load_study("toy-study", url).trials if t.params == best.params]
    assert len(copies) == 3
    args = ["pareto", str(path), "--storage", url, "-o", str(tmp_path / "f.svg"),
            "--csv", str(tmp_path / "front.csv"), "--json", str(tmp_path / "front.json")]
    assert main(args) == 0
    front = pd.read_csv(tmp_path / "front.csv")
    assert front["trial"].is_unique and best.number in set(front["trial"])
    assert not set(copies[1:]) & set(front["trial"])
    counts = dict(zip(front["trial"], front["count"]))
    assert counts[best.number] == 3 and sum(counts.values()) == len(front) + 2
    document = json.loads((tmp_path / "front.json").read_text())
    assert {p["trial"]: p["count"] for p in document["front"]} == counts
    assert "\u00d73" in (tmp_path / "f.svg").read_text()
