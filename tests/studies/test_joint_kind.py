"""The joint kind: pruning and weight subsets in one trial, priced by one cost model."""

from __future__ import annotations

import optuna
import pytest

from dse.errors import ConfigError
from dse.kinds import StudyContext
from studies.kinds.joint import Joint, PrefixedTrial
from tests.studies.luts import tiny_lut

LEVELS = range(-8, 8)
# Every MAC costs 1 fJ, so energy counts MACs; each weight value's multiplier has its own area.
LUT = tiny_lut({w: 1.0 for w in LEVELS}, {w: 10.0 + abs(w) for w in LEVELS}, {w: 100.0 for w in LEVELS})
HIDDEN = (16, 12)
MODEL = {"arch": "mlp", "hidden": list(HIDDEN), "epochs": 3, "finetune_epochs": 1}


def mlp_macs(first: int, second: int) -> int:
    return 64 * first + first * second + second * 10


@pytest.mark.parametrize("space, key", [
    ({"pruning": {"ratoi": 0.5}}, r"space\.pruning\.ratoi"),
    ({"pruning": {"method": "l2"}}, r"space\.pruning\.method"),
    ({"weights": {"ranking": "size"}}, r"space\.weights\.ranking"),
    ({"weights": {"n_values": [4, 2]}}, r"space\.weights\.n_values"),
    ({"exits": [1]}, r"space\.exits"),
    ({"weights": {"ranking": ["energy", "kmeans"]}}, r"space\.weights\.ranking"),
])
def test_bad_sub_tables_name_the_key(space, key):
    with pytest.raises(ConfigError, match=key):
        Joint.validate(space, "space")


def test_sub_tables_default_to_magnitude_pruning_and_every_weight_ranking():
    settings = Joint.validate({}, "space")
    assert settings["pruning"]["method"] == ["magnitude"]
    assert settings["weights"]["ranking"] == ["energy"]


def test_prefixed_trial_names_parameters_and_attributes():
    study = optuna.create_study()
    trial = study.ask()
    prefixed = PrefixedTrial(trial, "pruning")
    prefixed.suggest_float("ratio", 0.0, 1.0)
    prefixed.set_user_attr("stopped_by", "ratio")
    assert set(trial.params) == {"pruning.ratio"}
    assert trial.user_attrs == {"pruning.stopped_by": "ratio"}


def test_a_trial_prunes_restricts_and_prices_the_result(tmp_path):
    space = Joint.validate({"pruning": {"method": "magnitude", "ratio": [0.3, 0.6], "iterations": 1,
                                        "regularize_epochs": 0},
                            "weights": {"n_values": [2, 4], "activation_delay_fraction": 1.0}}, "space")
    kind = Joint(space, StudyContext(LUT, {"source": "digits"}, MODEL, 0, "cpu", tmp_path))
    base = kind.baseline()
    assert base["macs"] == mlp_macs(*HIDDEN)
    assert base["energy_per_inference_nJ"] == pytest.approx(mlp_macs(*HIDDEN) * 1e-6)
    study = optuna.create_study(directions=[o.direction for o in Joint.objectives],
                                sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(2):
        trial = study.ask()
        values = kind.evaluate(trial)
        assert {"pruning.ratio", "weights.n_values"} <= set(trial.params)
        kept = trial.user_attrs["kept_per_layer"]
        pruned = 1 - sum(kept.values()) / sum(HIDDEN)
        assert pruned == pytest.approx(round(trial.params["pruning.ratio"] * sum(HIDDEN)) / sum(HIDDEN))
        macs = mlp_macs(kept["fc1"], kept["fc2"])
        assert trial.user_attrs["macs"] == macs < base["macs"]
        assert values["energy_per_inference_nJ"] == pytest.approx(macs * 1e-6)
        allowed = trial.user_attrs["allowed_weights"]
        assert len(allowed) == trial.params["weights.n_values"]
        # At most one multiplier per allowed value and layer, each no larger than the largest allowed value's.
        layers = 3
        assert 0 < values["logic_area_mm2"] * 1e6 <= layers * len(allowed) * max(10.0 + abs(w) for w in allowed)
        assert values["logic_area_mm2"] < base["logic_area_mm2"]
        assert 10.0 < values["accuracy"] <= 100.0
        assert values["accuracy_drop"] == pytest.approx(base["accuracy"] - values["accuracy"])
        study.tell(trial, [values[o.name] for o in Joint.objectives])


def test_exit_heads_on_the_pruned_restricted_network(tmp_path):
    space = Joint.validate({"pruning": {"ratio": 0.5, "iterations": 1, "regularize_epochs": 0},
                            "weights": {"n_values": 4, "activation_delay_fraction": 1.0},
                            "exit": {"method": "exclusion", "head_epochs": 2}}, "space")
    assert space["exit"]["training"] == "frozen"
    kind = Joint(space, StudyContext(LUT, {"source": "digits"}, MODEL, 0, "cpu", tmp_path))
    study = optuna.create_study(directions=[o.direction for o in Joint.objectives])
    # No exit used: the network without exits, as if the table were absent.
    study.enqueue_trial({"exit.exit1": False, "exit.exit2": False, "exit.beta1": 0.5, "exit.beta2": 0.5})
    # β = 1 at the first exit excludes every class but the likeliest: every image leaves there.
    study.enqueue_trial({"exit.exit1": True, "exit.exit2": False, "exit.beta1": 1.0, "exit.beta2": 0.5})
    trials = []
    for _ in range(2):
        trial = study.ask()
        values = kind.evaluate(trial)
        study.tell(trial, [values[o.name] for o in Joint.objectives])
        trials.append((trial, values))
    (none, none_values), (first, first_values) = trials
    assert none_values["energy_per_inference_nJ"] == pytest.approx(none.user_attrs["energy_without_exits_nJ"])
    assert none.user_attrs["exit.exit_fraction"] == [1.0]
    assert first.user_attrs["exit.exit_fraction"] == [1.0, 0.0]
    # Leaving after fc1 costs fc1 and the linear exclusion heads on its outputs (one per class), 1 fJ per MAC.
    fc1 = first.user_attrs["kept_per_layer"]["fc1"]
    assert first.user_attrs["exit.macs_per_inference"] == 64 * fc1 + fc1 * 10
    assert first_values["energy_per_inference_nJ"] == pytest.approx((64 * fc1 + fc1 * 10) * 1e-6)


def test_exit_heads_cannot_train_jointly_with_a_trial_network():
    with pytest.raises(ConfigError, match=r"space\.exit\.training"):
        Joint.validate({"exit": {"training": "joint"}}, "space")
