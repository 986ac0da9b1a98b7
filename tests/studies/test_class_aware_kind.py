"""The class-aware-pruning kind: settings, a short study end to end, and `dse prune` with its report."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
import torch
from sklearn.datasets import load_digits

from dse.cli import main
from dse.errors import ConfigError
from dse.kinds import StudyContext
from dse.storage import load_study
from studies.data import load_dataset, split_indices
from studies.kinds.class_aware_pruning import ClassAwarePruning
from studies.pruning.report import load_pruned
from studies.pruning.scores import class_scores
from studies.training import accuracy
from tests.studies.luts import tiny_lut

LEVELS = range(-8, 8)
UNIT_ENERGY_LUT = tiny_lut({w: 1.0 for w in LEVELS}, {w: 10.0 for w in LEVELS}, {w: 100.0 for w in LEVELS})
HIDDEN = (16, 12)
STUDY = """\
[study]
name = "cap"
kind = "class-aware-pruning"
trials = 2
seed = 0
[sampler]
name = "random"
[objectives]
accuracy = "maximize"
energy_per_inference_nJ = "minimize"
[lut]
path = "lut.csv"
[model]
arch = "mlp"
hidden = [16, 12]
epochs = 4
finetune_epochs = 1
[space]
tau = 1e-3
lambda1 = [1e-6, 1e-5]
lambda2 = 1e-3
ratio = [0.3, 0.6]
iterations = [1, 2]
regularize_epochs = 1
"""


def mlp_macs(first: int, second: int) -> int:
    return 64 * first + first * second + second * 10


@pytest.fixture(scope="module")
def study_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cap")
    UNIT_ENERGY_LUT.save(folder / "lut.csv")
    path = folder / "cap.toml"
    path.write_text(STUDY)
    return path


@pytest.fixture(scope="module")
def storage(study_file):
    """The study run to the end once; its folder caches the trained baseline that later runs reuse."""
    url = f"sqlite:///{study_file.parent}/s.db"
    assert main(["study", "run", str(study_file), "--storage", url]) == 0
    return url


@pytest.mark.parametrize("space, key", [
    ({"tau": -1.0}, "space.tau"),
    ({"method": "l2"}, "space.method"),
    ({"ratio": 1.5}, "space.ratio"),
    ({"scope": "net"}, "space.scope"),
    ({"layer_ratios": [0.5, 2.0]}, r"space.layer_ratios\[1\]"),
    ({"layer_ratios": 0.5}, "space.layer_ratios"),
    ({"ratio": 0.5, "layer_ratios": [0.5]}, "space.layer_ratios"),
    ({"iterations": [3, 1]}, "space.iterations"),
    ({"tolerance_points": -1}, "space.tolerance_points"),
    ({"lamda1": 1e-5}, "space.lamda1"),
    ({"schedule": "floor", "ratio": 0.5}, "space.ratio"),
    ({"step": 0.2}, "space.step"),
    ({"score": "sum"}, "space.score"),
    ({"optimizer": "rmsprop"}, "space.optimizer"),
])
def test_bad_space_names_the_key(space, key):
    with pytest.raises(ConfigError, match=key):
        ClassAwarePruning.validate(space, "space")


def test_a_short_study_runs_end_to_end(storage):
    study = load_study("cap", storage)
    base_macs = study.user_attrs["baseline:macs"]
    assert base_macs == mlp_macs(*HIDDEN)
    assert study.user_attrs["baseline:energy_per_inference_nJ"] == pytest.approx(base_macs * 1e-6)
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    for trial in trials:
        kept = trial.user_attrs["kept_per_layer"]
        assert set(kept) == {"fc1", "fc2"}
        pruned = 1 - sum(kept.values()) / sum(HIDDEN)
        assert pruned == pytest.approx(round(trial.params["ratio"] * sum(HIDDEN)) / sum(HIDDEN))
        assert trial.user_attrs["macs"] == mlp_macs(kept["fc1"], kept["fc2"]) < base_macs
        assert trial.user_attrs["layer:fc1:macs"] + trial.user_attrs["layer:fc2:macs"] + \
            trial.user_attrs["layer:classifier:macs"] == trial.user_attrs["macs"]
        assert trial.user_attrs["layer:fc1:energy_nJ"] + trial.user_attrs["layer:fc2:energy_nJ"] + \
            trial.user_attrs["layer:classifier:energy_nJ"] == pytest.approx(trial.user_attrs["energy_per_inference_nJ"])
        assert trial.values[1] == pytest.approx(trial.user_attrs["macs"] * 1e-6)
        assert 10.0 < trial.values[0] <= 100.0


def test_dse_prune_writes_the_pruned_network_and_a_report(study_file, storage, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("studies.session.train", lambda *a, **k: pytest.fail("retrained the baseline"))
    out = tmp_path / "out"
    args = ["prune", str(study_file), "-o", str(out), "--storage", storage,
            "--set", "lambda1=1e-5", "--set", "ratio=0.5",
            "--set", "iterations=2", "--set", 'scope="layer"']
    assert main(args) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "MACs" in printed
    assert "regularize" in captured.err and "pruning round 2/2: fine-tune" in captured.err  # progress bars
    report = json.loads((out / "report.json").read_text())
    for part in ("baseline", "pruned"):
        layers = report[part]["layers"]
        assert list(layers) == ["fc1", "fc2", "classifier"]
        assert sum(layer["macs"] for layer in layers.values()) == report[part]["macs"]
        assert sum(layer["energy_nJ"] for layer in layers.values()) == pytest.approx(
            report[part]["energy_per_inference_nJ"])
    assert report["pruned"]["layers"]["fc2"]["macs"] == 8 * 6
    assert f"{'fc2':<12} {16 * 12:>9} -> {8 * 6:<9}" in printed
    assert [(row["layer"], row["filters"], row["kept"], row["pruned"]) for row in report["layers"]] == \
        [("fc1", 16, 8, 8), ("fc2", 12, 6, 6)]
    assert report["pruned"]["macs"] == mlp_macs(8, 6)
    assert report["baseline"]["macs"] == mlp_macs(*HIDDEN)
    assert report["reduction_pct"]["energy_per_inference_nJ"] == pytest.approx(100 * (1 - mlp_macs(8, 6) /
                                                                                    mlp_macs(*HIDDEN)))
    assert [len(c) for c in report["class_counts"]["before"].values()] == [16, 12]
    assert [len(c) for c in report["class_counts"]["after"].values()] == [8, 6]
    assert all(0.0 <= c <= 10.0 for counts in report["class_counts"]["before"].values() for c in counts)
    assert (out / "class_counts.png").read_bytes()[:4] == b"\x89PNG"
    assert len((out / "class_counts.csv").read_text().splitlines()) == 1 + 16 + 12
    model = load_pruned(out / "pruned_model.pt")
    test = load_dataset({}, seed=0).test
    assert accuracy(model.network, test) == pytest.approx(report["pruned"]["test_accuracy"])
    assert [name for name, _ in model.network.named_children()] == ["flatten", "fc1", "fc1_relu", "fc2", "fc2_relu",
                                                                     "classifier"]


def test_a_pruned_network_classifies_raw_inputs_with_the_original_labels(tmp_path, capsys):
    digits = load_digits()
    chosen = np.isin(digits.target, [3, 7, 9])
    x, y = digits.images[chosen][:, None].astype(np.float32), digits.target[chosen]
    np.savez(tmp_path / "digits379.npz", x=x, y=y)
    UNIT_ENERGY_LUT.save(tmp_path / "lut.csv")
    study_file = tmp_path / "cap379.toml"
    study_file.write_text(STUDY.replace("[lut]", '[data]\nsource = "digits379.npz"\n[lut]')
                          .replace("epochs = 4", "epochs = 40"))
    out = tmp_path / "out"
    assert main(["prune", str(study_file), "-o", str(out), "--storage", f"sqlite:///{tmp_path}/s.db",
                 "--set", "lambda1=1e-5", "--set", "ratio=0.5", "--set", "iterations=1", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    report = json.loads((out / "report.json").read_text())
    model = load_pruned(out / "pruned_model.pt")
    assert model.classes == (3, 7, 9)
    _, _, test = split_indices(np.unique(y, return_inverse=True)[1], 0.15, 0.2, seed=0)
    predicted = model.predict(torch.from_numpy(x[test]))  # raw pixel values 0..16, as in the file
    assert set(predicted.tolist()) == {3, 7, 9}
    assert 100.0 * np.mean(predicted == y[test]) == pytest.approx(report["pruned"]["test_accuracy"], rel=1e-9)
    assert report["pruned"]["test_accuracy"] > 60.0  # chance is 33 %


def test_dse_prune_refuses_a_range(study_file, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["prune", str(study_file), "-o", str(tmp_path / "out")]) == 2
    assert "space.lambda1: dse prune runs one setting" in capsys.readouterr().err


def test_per_layer_ratios_and_lut_energy(study_file, storage):
    context = StudyContext(UNIT_ENERGY_LUT, {}, {"arch": "mlp", "hidden": list(HIDDEN), "epochs": 4,
                                                 "finetune_epochs": 1}, 0, "cpu", study_file.parent / "cap")
    space = ClassAwarePruning.validate({"layer_ratios": [[0.2, 0.6], 0.25], "tau": 1e-3, "lambda1": 0.0,
                                        "lambda2": 0.0, "iterations": 1, "regularize_epochs": 0}, "space")
    study_kind = ClassAwarePruning(space, context)
    trial = optuna.trial.FixedTrial({"ratio_0": 0.5})
    metrics = study_kind.evaluate(trial)
    assert trial.user_attrs["kept_per_layer"] == {"fc1": 8, "fc2": 9}
    assert metrics["macs"] == mlp_macs(8, 9)
    assert metrics["energy_per_inference_nJ"] == pytest.approx(mlp_macs(8, 9) * 1e-6)
    assert metrics["params"] == (64 + 1) * 8 + (8 + 1) * 9 + (9 + 1) * 10
    with pytest.raises(ConfigError, match="space.layer_ratios: the network has 2 prunable layers"):
        ClassAwarePruning(ClassAwarePruning.validate({"layer_ratios": [0.5]}, "space"), context)


def test_floor_schedule_removes_a_step_of_what_is_left_per_round(study_file, storage):
    context = StudyContext(UNIT_ENERGY_LUT, {}, {"arch": "mlp", "hidden": list(HIDDEN), "epochs": 4,
                                                 "finetune_epochs": 1}, 0, "cpu", study_file.parent / "cap")
    space = ClassAwarePruning.validate({"schedule": "floor", "step": 0.25, "iterations": 2, "tolerance_points": 100,
                                        "regularize_epochs": 0, "lambda1": 1e-4, "lambda2": 1e-2,
                                        "optimizer": "sgd", "lr": 0.01}, "space")
    trial = optuna.trial.FixedTrial({})
    study_kind = ClassAwarePruning(space, context)
    metrics = study_kind.evaluate(trial)
    # 28 neurons: round 1 removes ceil(0.25 * 28) = 7, round 2 ceil(0.25 * 21) = 6
    assert sum(trial.user_attrs["kept_per_layer"].values()) == 15
    assert trial.user_attrs["stopped_by"] == "rounds" and trial.user_attrs["rounds_done"] == 2
    assert metrics["pruned_filters_pct"] == pytest.approx(100 * 13 / 28)


def test_class_taylor_score_keeps_the_filters_it_ranks_highest(study_file, storage):
    context = StudyContext(UNIT_ENERGY_LUT, {}, {"arch": "mlp", "hidden": list(HIDDEN), "epochs": 4,
                                                 "finetune_epochs": 1}, 0, "cpu", study_file.parent / "cap")
    space = ClassAwarePruning.validate({"score": "class-taylor", "ratio": 0.5, "scope": "layer", "iterations": 1,
                                        "lambda1": 0.0, "lambda2": 0.0, "regularize_epochs": 0}, "space")
    study_kind = ClassAwarePruning(space, context)
    plan = study_kind.plan(optuna.trial.FixedTrial({}))
    assert plan.score == "class-taylor"
    result = study_kind.prune(plan, study_kind.training(1))
    dataset = study_kind.session.dataset
    scores = class_scores(study_kind.session.baseline_model(), result.units, dataset.train, dataset.n_classes,
                          "class-taylor", plan.tau, plan.images_per_class)
    for name, kept in result.kept.items():
        assert sorted(kept.tolist()) == sorted(np.argsort(-scores[name])[:len(kept)].tolist())
    assert {name: len(kept) for name, kept in result.kept.items()} == {"fc1": 8, "fc2": 6}
