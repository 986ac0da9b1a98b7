"""The weight-subset and logic-area kinds on tiny LUTs built here, with a small MLP on digits."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from characterize.lut.table import Lut
from dse.config import load_study_config
from dse.errors import ConfigError
from dse.frames import pareto_summary
from dse.kinds import StudyContext
from dse.runner import run_study
from studies.errors import StudiesError
from studies.kinds.logic_area import LogicArea
from studies.kinds.weight_subset import WeightSubset
from studies.quant import quant_layers
from studies.ranking import allowed_activations
from studies.sharing import deep_compression, kmeans_1d
from tests.studies.luts import tiny_lut

LEVELS = range(-8, 8)
ENERGY = {w: 1.0 + abs(w) + 0.5 * (w < 0) for w in LEVELS}  # order: 0, 1, -1, 2, -2, ...
AREA = {w: 10.0 + 5 * abs(w) + 2 * (w < 0) for w in LEVELS}  # order: 0, 1, -1, 2, -2, ...
RISING_DELAY = {w: 100.0 + 10 * (7 - w) for w in LEVELS}  # order: 7, 6, 5, ...
FLAT_DELAY = {w: 200.0 for w in LEVELS}
MODEL = {"hidden": [16], "epochs": 6, "finetune_epochs": 1, "lr": 3e-3}
N_WEIGHTS = 64 * 16 + 16 * 10


def short_at_small_activations(weight: int, activation: int) -> float:
    """Every weight's worst sensitized delay is 200 ps, but only 100 ps for activations in -3..3."""
    return 100.0 if abs(activation) <= 3 else 200.0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("study")


def context(workdir, lut, model=MODEL) -> StudyContext:
    return StudyContext(lut, {}, dict(model), seed=0, device="cpu", workdir=workdir)


def weight_subset(workdir, lut, **space) -> WeightSubset:
    return WeightSubset(WeightSubset.validate(space, "space"), context(workdir, lut))


@pytest.fixture(scope="module")
def timed_kind(workdir):
    lut = tiny_lut(ENERGY, AREA, FLAT_DELAY, short_at_small_activations)
    return weight_subset(workdir, lut, ranking="energy", n_values=[1, 16], activation_delay_fraction=0.5)


def test_weight_subset_baseline_in_plausible_units(timed_kind):
    base = timed_kind.baseline()
    assert {k for k in base if not k.startswith("layer:")} == {o.name for o in WeightSubset.objectives} | {"test_accuracy"}
    assert {k for k in base if k.startswith("layer:")} == {f"layer:{name}:{figure}" for name in ("fc1", "classifier") for figure in
                                                           ("macs", "energy_nJ", "worst_delay_ps", "distinct_weights",
                                                            "area_um2")}
    assert 60.0 < base["accuracy"] <= 100.0 and 60.0 < base["test_accuracy"] <= 100.0
    assert N_WEIGHTS * 1.0e-6 <= base["energy_per_inference_nJ"] <= N_WEIGHTS * 9.5e-6
    assert 1.0 / 200 * 1e3 <= base["power_scaled_uW"] <= 9.5 / 200 * 1e3


def test_weight_subset_keeps_the_lowest_energy_values_and_fast_activations(timed_kind):
    trial = optuna.trial.FixedTrial({"n_values": 3})
    metrics = timed_kind.evaluate(trial)
    base = timed_kind.baseline()
    attrs = trial.user_attrs
    assert attrs["allowed_weights"] == [-1, 0, 1]
    assert attrs["n_activation_values"] == 7
    assert attrs["worst_delay_ps"] == 100.0
    assert attrs["voltage_V"] < 1.8 and attrs["timing_met"]
    assert N_WEIGHTS * 1.0e-6 <= metrics["energy_per_inference_nJ"] <= N_WEIGHTS * 2.5e-6
    assert attrs["energy_reduction_pct"] > 0
    assert metrics["power_scaled_uW"] < base["power_scaled_uW"]
    assert metrics["accuracy_drop"] == pytest.approx(base["accuracy"] - metrics["accuracy"])


def test_weight_subset_under_an_optuna_sampler_reports_every_objective(timed_kind):
    study = optuna.create_study(directions=[o.direction for o in WeightSubset.objectives],
                                sampler=optuna.samplers.RandomSampler(seed=3))
    trial = study.ask()
    metrics = timed_kind.evaluate(trial)
    assert {"accuracy", "energy_per_inference_nJ", "power_scaled_uW", "accuracy_drop"} <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values())
    assert 1 <= trial.params["n_values"] <= 16
    assert len(trial.user_attrs["allowed_weights"]) == trial.params["n_values"]


def test_ranking_by_delay_and_free_choice(workdir):
    lut = tiny_lut(ENERGY, AREA, RISING_DELAY)
    study_kind = weight_subset(workdir, lut, ranking=["energy", "delay", "free"], n_values=[1, 4])
    by_delay = optuna.trial.FixedTrial({"ranking": "delay", "n_values": 3})
    study_kind.evaluate(by_delay)
    assert by_delay.user_attrs["allowed_weights"] == [5, 6, 7]
    assert by_delay.user_attrs["worst_delay_ps"] <= 120.0
    free = optuna.trial.FixedTrial({"ranking": "free", **{f"w{w}": w in (-3, 2) for w in LEVELS}})
    study_kind.evaluate(free)
    assert free.user_attrs["allowed_weights"] == [-3, 2]
    with pytest.raises(optuna.TrialPruned):
        study_kind.evaluate(optuna.trial.FixedTrial({"ranking": "free", **{f"w{w}": False for w in LEVELS}}))


def test_baseline_is_cached_in_the_workdir(workdir, timed_kind, monkeypatch):
    first = timed_kind.baseline()
    assert list(workdir.glob("qat-baseline-*.pt"))
    monkeypatch.setattr("studies.session.train", lambda *a, **k: pytest.fail("retrained the baseline"))
    again = weight_subset(workdir, timed_kind.lut, ranking="energy", activation_delay_fraction=0.5)
    assert again.baseline() == first


def test_logic_area_keeps_the_smallest_values_when_accuracy_holds(workdir):
    lut = tiny_lut(ENERGY, AREA, RISING_DELAY)
    space = LogicArea.validate({"n_values": 2, "tolerance_points": 100.0}, "space")
    study_kind = LogicArea(space, context(workdir, lut))
    trial = optuna.trial.FixedTrial({"n_values": 2})
    metrics = study_kind.evaluate(trial)
    assert trial.user_attrs["allowed_weights"] == [0, 1]
    assert trial.user_attrs["added_rounds"] == 0
    assert metrics["logic_area_mm2"] == pytest.approx(2 * (10.0 + 15.0) * 1e-6)  # both layers use both values
    assert metrics["logic_area_mm2"] < study_kind.baseline()["logic_area_mm2"]


def test_logic_area_adds_values_in_area_order_while_accuracy_falls_short(workdir):
    lut = tiny_lut(ENERGY, AREA, RISING_DELAY)
    space = LogicArea.validate({"n_values": 1, "tolerance_points": 0.0, "add_step": 2, "max_rounds": 1}, "space")
    trial = optuna.trial.FixedTrial({"n_values": 1})
    LogicArea(space, context(workdir, lut)).evaluate(trial)
    assert trial.user_attrs["added_rounds"] == 1
    assert trial.user_attrs["allowed_weights"] == [-1, 0, 1]


def test_logic_area_searches_the_tolerance_into_a_front_of_several_points(tmp_path):
    """From the single smallest-area value, only the searched tolerance decides how many values a trial adds."""
    tiny_lut(ENERGY, AREA, RISING_DELAY).save(tmp_path / "lut.csv")
    study_file = tmp_path / "study.toml"
    study_file.write_text('''[study]
name = "tolerance"
kind = "logic-area"
trials = 5
seed = 0
[sampler]
name = "random"
[lut]
path = "lut.csv"
[data]
source = "digits"
[model]
arch = "mlp"
hidden = [16]
epochs = 6
finetune_epochs = 1
lr = 3e-3
[space]
n_values = 1
tolerance_points = [0.0, 10.0]
max_rounds = 8
''')
    study = run_study(load_study_config(study_file), f"sqlite:///{tmp_path}/studies.db", progress=False)
    front = pareto_summary(study)
    base_accuracy = front.baseline["accuracy"]
    for trial in study.get_trials(deepcopy=False):
        tolerance = trial.params["tolerance_points"]
        assert 0.0 <= tolerance <= 10.0
        met = trial.user_attrs["accuracy"] >= base_accuracy - tolerance
        assert trial.user_attrs["accuracy_met"] == met
        assert met or trial.user_attrs["added_rounds"] == 8
    assert len(front.front[["accuracy", "logic_area_mm2"]].drop_duplicates()) >= 2


@pytest.mark.parametrize("cls, space, key", [
    (WeightSubset, {"rank": "energy"}, "space.rank"),
    (WeightSubset, {"ranking": "power"}, "space.ranking"),
    (WeightSubset, {"n_values": [5, 2]}, "space.n_values"),
    (WeightSubset, {"activation_delay_fraction": 1.5}, "space.activation_delay_fraction"),
    (LogicArea, {"tolerance_points": -1}, "space.tolerance_points"),
    (LogicArea, {"tolerance_points": [3.0, 1.0]}, "space.tolerance_points"),
    (LogicArea, {"add_step": 0}, "space.add_step"),
])
def test_bad_space_names_the_key(cls, space, key):
    with pytest.raises(ConfigError, match=key):
        cls.validate(space, "space")


def test_more_values_than_the_lut_has(workdir):
    with pytest.raises(ConfigError, match="space.n_values"):
        weight_subset(workdir, tiny_lut(ENERGY, AREA, RISING_DELAY), n_values=[1, 17])


def test_unsigned_lut_is_refused(workdir):
    lut = tiny_lut({w: 1.0 for w in range(16)}, {w: 1.0 for w in range(16)}, {w: 1.0 for w in range(16)},
                   signed=False)
    with pytest.raises(StudiesError, match="unsigned"):
        weight_subset(workdir, lut)


def test_grid_spaces():
    space = WeightSubset.validate({"ranking": ["energy", "delay"], "n_values": [2, 4],
                                   "activation_delay_fraction": 0.8}, "space")
    assert WeightSubset.grid_space(space) == {"n_values": [2, 3, 4], "ranking": ["energy", "delay"]}
    assert WeightSubset.grid_space(WeightSubset.validate({"n_values": [2, 4]}, "space")) is None
    logic_area = LogicArea.validate({"n_values": [3, 5], "tolerance_points": 1.0}, "space")
    assert LogicArea.grid_space(logic_area) == {"n_values": [3, 4, 5]}
    assert LogicArea.grid_space(LogicArea.validate({"n_values": [3, 5]}, "space")) is None  # tolerance searched


def test_activations_missing_from_the_table_count_with_the_weights_worst_delay():
    lut = tiny_lut(ENERGY, AREA, FLAT_DELAY)
    table = pd.DataFrame({"weight": 1, "activation": [0, 1, 2, 3], "transitions": 2,
                          "max_sensitized_delay_ps": 100.0, "mean_energy_fJ": 1.0})
    lut = Lut(lut.table, table, lut.meta)
    values = np.arange(-8, 8)
    assert allowed_activations(lut, np.array([1]), values, 150.0).tolist() == [0, 1, 2, 3]
    assert allowed_activations(lut, np.array([1, 2]), values, 150.0).tolist() == []
    assert allowed_activations(lut, np.array([1]), values, 200.0).tolist() == values.tolist()


@pytest.mark.parametrize("kind_cls", [LogicArea, WeightSubset])
def test_n_values_beyond_the_lut_is_rejected(kind_cls, workdir):
    lut = tiny_lut(ENERGY, AREA, FLAT_DELAY, short_at_small_activations)
    with pytest.raises(ConfigError, match="n_values: upper bound 99 exceeds the 16 weight values"):
        kind_cls(kind_cls.validate({"n_values": [1, 99]}, "space"), context(workdir, lut))


def test_kmeans_finds_the_clusters_of_one_dimensional_values():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(-1.0, 0.01, 50), rng.normal(0.2, 0.01, 30), rng.normal(2.0, 0.01, 20)])
    centroids, labels = kmeans_1d(values, 3)
    assert centroids == pytest.approx([-1.0, 0.2, 2.0], abs=0.01)
    assert np.bincount(labels).tolist() == [50, 30, 20]


def distinct_per_layer(model) -> dict[str, tuple[int, int]]:
    """Per quantized layer: distinct float weights and distinct integer levels."""
    return {name: (len(torch.unique(layer.weight.detach())), len(np.unique(layer.integer_weights())))
            for name, layer in quant_layers(model)}


def test_kmeans_sharing_leaves_at_most_k_integer_values_per_layer(workdir):
    study_kind = weight_subset(workdir, tiny_lut(ENERGY, AREA, FLAT_DELAY), ranking="kmeans", n_values=[2, 8])
    session = study_kind.session
    model = deep_compression(session, 3, 0.0, None, seed=5)
    for name, (floats, levels) in distinct_per_layer(model).items():
        assert floats <= 3 and levels <= 3, name
    for (_, layer), (_, base) in zip(quant_layers(model), quant_layers(session.baseline_model()), strict=True):
        assert layer.integer_weights().min() >= -8 and layer.integer_weights().max() <= 7
        # the centroids were fine-tuned away from the k-means centroids of the baseline's weights
        centroids, labels = kmeans_1d(base.weight.detach().numpy(), 3)
        shared = torch.unique(layer.weight.detach()).numpy()
        assert len(shared) != len(np.unique(labels)) or not np.allclose(shared, centroids[np.unique(labels)])
    assert session.accuracy(model) > 50.0
    trial = optuna.trial.FixedTrial({"n_values": 3})
    metrics = study_kind.evaluate(trial)
    assert metrics["layer:fc1:distinct_weights"] <= 3 and metrics["layer:classifier:distinct_weights"] <= 3
    assert trial.user_attrs["n_weight_values"] == len(trial.user_attrs["allowed_weights"]) <= 6


def test_pruning_then_sharing_keeps_the_pruned_weights_at_zero(workdir):
    study_kind = weight_subset(workdir, tiny_lut(ENERGY, AREA, FLAT_DELAY), ranking="kmeans", n_values=4,
                               prune_fraction=0.6)
    model = deep_compression(study_kind.session, 4, 0.6, None, seed=5)
    for name, layer in quant_layers(model):
        levels = layer.integer_weights()
        assert (levels == 0).sum() >= round(0.6 * levels.size), name
        assert len(np.unique(levels)) <= 4 + 1
        assert len(torch.unique(layer.weight.detach())) <= 4 + 1


def test_prune_fraction_needs_kmeans():
    with pytest.raises(ConfigError, match=r"space\.prune_fraction: prunes before weight sharing: .*kmeans"):
        WeightSubset.validate({"ranking": "energy", "prune_fraction": 0.5}, "space")


def test_a_study_compares_kmeans_sharing_with_lut_ranked_subsets(workdir, tmp_path):
    tiny_lut(ENERGY, AREA, FLAT_DELAY).save(tmp_path / "lut.csv")
    study_file = tmp_path / "study.toml"
    study_file.write_text(f'''[study]
name = "sharing"
kind = "weight-subset"
trials = 4
seed = 1
cache = "{workdir}"
[sampler]
name = "random"
[lut]
path = "lut.csv"
[data]
source = "digits"
[model]
arch = "mlp"
hidden = [16]
epochs = 6
finetune_epochs = 1
lr = 3e-3
[space]
ranking = ["energy", "kmeans"]
n_values = [2, 6]
''')
    study = run_study(load_study_config(study_file), f"sqlite:///{tmp_path}/studies.db", progress=False)
    trials = study.get_trials(deepcopy=False)
    assert {t.state for t in trials} == {optuna.trial.TrialState.COMPLETE}
    assert {t.params["ranking"] for t in trials} == {"energy", "kmeans"}
    for trial in trials:
        if trial.params["ranking"] == "kmeans":
            k = trial.params["n_values"]
            assert trial.user_attrs["layer:fc1:distinct_weights"] <= k and trial.user_attrs["layer:classifier:distinct_weights"] <= k


def test_logic_area_trials_break_the_area_down_by_layer(workdir):
    lut = tiny_lut(ENERGY, AREA, RISING_DELAY)
    space = LogicArea.validate({"n_values": 3, "tolerance_points": 100.0}, "space")
    trial = optuna.trial.FixedTrial({"n_values": 3})
    metrics = LogicArea(space, context(workdir, lut)).evaluate(trial)
    assert metrics["layer:fc1:area_um2"] + metrics["layer:classifier:area_um2"] == pytest.approx(1e6 * metrics["logic_area_mm2"])
    assert metrics["layer:fc1:distinct_weights"] <= 3 and metrics["layer:classifier:distinct_weights"] <= 3
