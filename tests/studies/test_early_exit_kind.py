"""The early-exit kind on a tiny MLP backbone over digits with a tiny LUT, heads trained on the frozen backbone
and jointly with it, and a short study of the three methods end to end."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from dse.cli import main
from dse.errors import ConfigError
from dse.kinds import StudyContext
from studies.kinds.early_exit import EarlyExit
from tests.studies.luts import tiny_lut

LEVELS = range(-8, 8)
LUT = tiny_lut({w: 1.0 + abs(w) for w in LEVELS}, {w: 1.0 for w in LEVELS}, {w: 100.0 for w in LEVELS})
MODEL = {"hidden": [32, 16], "epochs": 4}
SPACE = {"method": ["exclusion", "confidence"], "training": "frozen", "hidden": 2, "confidence_hidden": 8,
         "head_epochs": 4}
JOINT = {"method": ["exclusion", "confidence", "hybrid"]}  # the defaults: joint training, one linear head per exit
# digits: 64 inputs; backbone 64·32 + 32·16 + 16·10; exits after each hidden layer (32 and 16 features)
BACKBONE_MACS = 64 * 32 + 32 * 16 + 16 * 10
EXCLUSION_MACS = (10 * (32 * 2 + 2), 10 * (16 * 2 + 2))  # ten class networks of 2 hidden units per exit
CONFIDENCE_MACS = (32 * 8 + 8 * 10, 16 * 8 + 8 * 10)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("early-exit")


@pytest.fixture(scope="module")
def study_kind(workdir) -> EarlyExit:
    return EarlyExit(EarlyExit.validate(dict(SPACE), "space"), StudyContext(LUT, {}, dict(MODEL), 0, "cpu", workdir))


@pytest.fixture(scope="module")
def joint_kind(workdir) -> EarlyExit:
    return EarlyExit(EarlyExit.validate(dict(JOINT), "space"), StudyContext(LUT, {}, dict(MODEL), 0, "cpu", workdir))


def evaluate(study_kind: EarlyExit, params: dict) -> tuple[dict, dict]:
    trial = optuna.trial.FixedTrial(params)
    return study_kind.evaluate(trial), trial.user_attrs


def test_beta_zero_gives_exactly_the_backbone_predictions(study_kind):
    backbone = study_kind.session.quant.baseline_model()
    for split in ("val", "test"):
        x, _ = getattr(study_kind.session.quant.dataset, split)
        with torch.no_grad():
            expected = backbone(x).argmax(dim=1).numpy()
        outcome, _ = study_kind.run("exclusion", [0, 1], {"beta": [0.0, 0.0]}, split)
        assert np.array_equal(outcome.prediction, expected)
        assert (outcome.exit_index == 2).all()
    metrics, attrs = evaluate(study_kind, {"method": "exclusion", "exit1": True, "exit2": True,
                                           "beta1": 0.0, "beta2": 0.0})
    assert metrics["accuracy"] == study_kind.baseline()["accuracy"]
    assert metrics["macs_per_inference"] == BACKBONE_MACS + sum(EXCLUSION_MACS)
    assert attrs["exit_fraction"] == [0.0, 0.0, 1.0] and attrs["excluded_mean"] == [0.0, 0.0]


def test_no_exit_is_the_full_network(study_kind):
    metrics, attrs = evaluate(study_kind, {"method": "exclusion", "exit1": False, "exit2": False,
                                           "beta1": 0.7, "beta2": 0.7})
    base = study_kind.baseline()
    assert metrics["macs_per_inference"] == BACKBONE_MACS == base["macs_per_inference"]
    assert metrics["energy_per_inference_nJ"] == pytest.approx(base["energy_per_inference_nJ"])
    assert metrics["accuracy_drop"] == 0.0 and attrs["exits"] == [] and attrs["exit_fraction"] == [1.0]


def test_beta_one_at_the_first_exit_lets_every_image_leave_there(study_kind):
    metrics, attrs = evaluate(study_kind, {"method": "exclusion", "exit1": True, "exit2": False,
                                           "beta1": 1.0, "beta2": 0.0})
    assert attrs["exit_fraction"] == [1.0, 0.0]
    assert attrs["excluded_mean"] == [9.0]
    assert metrics["macs_per_inference"] == 64 * 32 + EXCLUSION_MACS[0]
    assert metrics["energy_per_inference_nJ"] < study_kind.baseline()["energy_per_inference_nJ"]
    assert attrs["exit_after"] == ["fc1"]


def test_confidence_baseline_in_the_same_harness(study_kind):
    never, _ = evaluate(study_kind, {"method": "confidence", "exit1": True, "exit2": True,
                                     "threshold1": 1.0, "threshold2": 1.0})
    assert never["accuracy"] == study_kind.baseline()["accuracy"]
    assert never["macs_per_inference"] == BACKBONE_MACS + sum(CONFIDENCE_MACS)
    _, attrs = evaluate(study_kind, {"method": "confidence", "exit1": True, "exit2": False,
                                         "threshold1": 0.5, "threshold2": 0.5})
    leaving = attrs["exit_fraction"][0]
    assert 0.0 < leaving < 1.0 and attrs["threshold"] == [0.5]
    # on the test part: the ones leaving paid exit 1 only, the others the whole backbone too
    expected = leaving * (64 * 32) + (1 - leaving) * BACKBONE_MACS + CONFIDENCE_MACS[0]
    assert attrs["test_macs_per_inference"] == pytest.approx(expected)


def test_joint_training_gives_each_head_kind_its_own_backbone(joint_kind):
    plain = joint_kind.session.quant.baseline_model()
    exclusion, confidence = (joint_kind.session.network(k) for k in ("exclusion", "confidence"))
    x, _ = joint_kind.session.quant.dataset.val
    with torch.no_grad():
        finals = [net(x)[0].argmax(dim=1).numpy() for net in (exclusion, confidence)]
        assert not torch.equal(exclusion.backbone[1].weight, plain[1].weight)
        assert not torch.equal(exclusion.backbone[1].weight, confidence.backbone[1].weight)
    # β = 0 excludes nothing: the jointly trained network's own final classifier decides every image
    outcome, _ = joint_kind.run("exclusion", [0, 1], {"beta": [0.0, 0.0]}, "val")
    assert np.array_equal(outcome.prediction, finals[0]) and (outcome.exit_index == 2).all()
    # the reference stays the network without exits
    metrics, _ = evaluate(joint_kind, {"method": "confidence", "exit1": False, "exit2": False,
                                       "threshold1": 0.9, "threshold2": 0.9})
    assert metrics["macs_per_inference"] == BACKBONE_MACS == joint_kind.baseline()["macs_per_inference"]
    assert metrics["accuracy"] == pytest.approx(100.0 * np.mean(finals[1] == outcome_labels(joint_kind)))


def outcome_labels(study_kind: EarlyExit) -> np.ndarray:
    return study_kind.session.quant.dataset.val[1].numpy()


def test_linear_heads_run_whole_under_the_authors_beta_rule(joint_kind):
    metrics, attrs = evaluate(joint_kind, {"method": "exclusion", "exit1": True, "exit2": True,
                                           "beta1": 0.0, "beta2": 0.0})
    assert metrics["macs_per_inference"] == BACKBONE_MACS + 32 * 10 + 16 * 10
    assert attrs["beta"] == [0.0, 0.0] and attrs["method"] == "exclusion"


def test_hybrid_spans_exclusion_and_confidence(joint_kind, workdir):
    on_exclusion = EarlyExit(EarlyExit.validate({**JOINT, "hybrid_heads": "exclusion"}, "space"),
                             StudyContext(LUT, {}, dict(MODEL), 0, "cpu", workdir))  # the cached networks
    for split in ("val", "test"):
        # on the softmax heads (the default) β = 0 is the confidence rule
        confidence, figures = joint_kind.run("confidence", [0, 1], {"threshold": [0.6, 0.8]}, split)
        hybrid, hybrid_figures = joint_kind.run("hybrid", [0, 1], {"beta": [0.0, 0.0], "threshold": [0.6, 0.8]},
                                                split)
        assert np.array_equal(hybrid.prediction, confidence.prediction) and hybrid_figures == figures
        # on the exclusion heads threshold 1 leaves the exclusion rule alone
        exclusion, figures = on_exclusion.run("exclusion", [0, 1], {"beta": [0.6, 0.4]}, split)
        hybrid, hybrid_figures = on_exclusion.run("hybrid", [0, 1], {"beta": [0.6, 0.4], "threshold": [1.0, 1.0]},
                                                  split)
        assert np.array_equal(hybrid.prediction, exclusion.prediction) and hybrid_figures == figures
    _, attrs = evaluate(joint_kind, {"method": "hybrid", "exit1": True, "exit2": True, "beta1": 0.5,
                                           "beta2": 0.5, "threshold1": 0.9, "threshold2": 0.9})
    assert attrs["beta"] == [0.5, 0.5] and attrs["threshold"] == [0.9, 0.9] and attrs["method"] == "hybrid"
    assert sum(attrs["exit_fraction"]) == pytest.approx(1.0) and attrs["excluded_mean"][0] > 0


def test_heads_are_cached_in_the_workdir(study_kind, workdir, monkeypatch):
    assert list(workdir.glob("exit-net-*.pt"))
    monkeypatch.setattr("studies.early_exit.training.train", lambda *a, **k: pytest.fail("retrained the heads"))
    again = EarlyExit(EarlyExit.validate(dict(SPACE), "space"), StudyContext(LUT, {}, dict(MODEL), 0, "cpu", workdir))
    params = {"method": "exclusion", "exit1": True, "exit2": True, "beta1": 0.6, "beta2": 0.4}
    assert evaluate(again, params)[0] == evaluate(study_kind, params)[0]
    joint = EarlyExit(EarlyExit.validate(dict(JOINT), "space"), StudyContext(LUT, {}, dict(MODEL), 0, "cpu", workdir))
    assert len(list(workdir.glob("exit-net-*.pt"))) == 4  # frozen and joint, exclusion and confidence heads
    assert joint.session.outputs("confidence", "val").final_logits.shape[1] == 10


@pytest.mark.parametrize("space, key", [
    ({"betas": 0.5}, "space.betas"),
    ({"method": "softmax"}, "space.method"),
    ({"beta": [0.2, 1.5]}, "space.beta"),
    ({"threshold": [0.9, 0.5]}, "space.threshold"),
    ({"exits": [0, 1]}, "space.exits"),
    ({"exits": 2}, "space.exits"),
    ({"hidden": -1}, "space.hidden"),
    ({"method": ["exclusion", "hybird"]}, "space.method"),
    ({"training": "together"}, "space.training"),
    ({"beta_reference": "max"}, "space.beta_reference"),
    ({"pos_weight": 0}, "space.pos_weight"),
])
def test_bad_space_names_the_key(space, key):
    with pytest.raises(ConfigError, match=key):
        EarlyExit.validate(space, "space")


def test_an_exit_the_backbone_lacks(workdir):
    space = EarlyExit.validate({**SPACE, "exits": [2, 3]}, "space")
    with pytest.raises(ConfigError, match=r"space.exits: exit 3 does not exist.*2 candidate exits"):
        EarlyExit(space, StudyContext(LUT, {}, dict(MODEL), 0, "cpu", workdir))


def test_short_study_end_to_end(tmp_path, capsys):
    LUT.save(tmp_path / "lut.csv")
    (tmp_path / "study.toml").write_text(f"""
[study]
name = "ee"
kind = "early-exit"
trials = 24
[sampler]
name = "random"
[objectives]
accuracy = "maximize"
energy_per_inference_nJ = "minimize"
[lut]
path = "lut.csv"
[model]
hidden = {MODEL["hidden"]}
epochs = 2
[space]
method = ["exclusion", "confidence", "hybrid"]
beta = [0.3, 1.0]
""")
    url = f"sqlite:///{tmp_path}/s.db"
    assert main(["study", "run", str(tmp_path / "study.toml"), "--storage", url]) == 0
    table_path, figure = tmp_path / "exits.csv", tmp_path / "exits.png"
    assert main(["early-exit", "report", "ee", "--storage", url, "--trial", "3", "-o", str(table_path),
                 "--plot", str(figure)]) == 0
    assert "trial 3; wrote" in capsys.readouterr().out
    trials = optuna.load_study(study_name="ee", storage=url).trials
    assert {t.user_attrs["method"] for t in trials} == {"exclusion", "confidence", "hybrid"}
    assert all(0.3 <= b <= 1.0 for t in trials for b in t.user_attrs.get("beta", []))
    trial = trials[3]
    table = pd.read_csv(table_path)
    assert table["exit"].astype(str).tolist() == [*map(str, trial.user_attrs["exits"]), "final"]
    assert table["exit_pct"].sum() == pytest.approx(100.0)
    assert table["reached_pct"].iloc[0] == pytest.approx(100.0)
    assert figure.read_bytes().startswith(b"\x89PNG")
    assert main(["early-exit", "report", "ee", "--storage", url, "-o", str(table_path)]) == 0  # the knee trial
    assert main(["early-exit", "report", "ee", "--storage", url, "--trial", "99", "-o", str(table_path)]) == 2
    assert "no completed trial 99" in capsys.readouterr().err
