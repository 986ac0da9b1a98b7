"""One contract for every study kind the registry knows (installed entry points and registered kinds alike).

Each kind must accept a minimal study file, run one trial of it through the
runner, and report exactly the objectives it declares: as the study's
objectives, as the trial's values (finite, also stored as attributes under
their names), and among the unrestricted baseline's figures stored with the study.
"""

from __future__ import annotations

import argparse
import math

import pytest
from optuna.trial import TrialState

import tests.dse.toykind  # noqa: F401  (registers the "toy" kind, a kind from outside any package)
from dse.config import load_study_config
from dse.frames import BASELINE_PREFIX
from dse.kinds import ENTRY_POINT_GROUP, kind, kind_names
from dse.runner import run_study
from tests.dse.toykind import write_toy_lut
from tests.studies.luts import tiny_lut

LEVELS = range(-8, 8)
LUT = tiny_lut({w: 1.0 + abs(w) for w in LEVELS}, {w: 10.0 + abs(w) for w in LEVELS}, {w: 100.0 for w in LEVELS})
SMALL_MLP = '[data]\nsource = "digits"\n[model]\narch = "mlp"\nhidden = [8]\nepochs = 1\nfinetune_epochs = 0\n'

# The smallest study-file tables (beyond [study] and [lut]) that make each kind run one quick trial.
MINIMAL = {
    "toy": "[space]\n",
    "weight-subset": SMALL_MLP + "[space]\nn_values = [2, 4]\n",
    "logic-area": SMALL_MLP + "[space]\nn_values = [2, 4]\nmax_rounds = 0\n",
    "class-aware-pruning": SMALL_MLP + "[space]\nratio = 0.5\niterations = 1\nregularize_epochs = 0\n",
    "early-exit": SMALL_MLP + "[space]\nhead_epochs = 1\n",
    "joint": SMALL_MLP + "[space.pruning]\nratio = 0.5\niterations = 1\n[space.weights]\nn_values = [2, 4]\n",
    "variation": SMALL_MLP + "[space]\nsamples = 2\ncompensation_epochs = 1\ncurve_sigmas = [0.5]\n",
}


def test_the_built_in_kinds_are_entry_points():
    built_in = {"weight-subset", "logic-area", "class-aware-pruning", "early-exit", "variation", "joint"}
    assert built_in <= set(kind_names())


@pytest.mark.parametrize("name", kind_names())
def test_kind_contract(name, tmp_path):
    study_kind = kind(name)
    assert study_kind.name == name
    assert name in MINIMAL, f"add the minimal study of kind {name!r} (group {ENTRY_POINT_GROUP}) to MINIMAL"
    if name == "toy":
        write_toy_lut(tmp_path / "lut.csv")
    else:
        LUT.save(tmp_path / "lut.csv")
    path = tmp_path / "study.toml"
    path.write_text(f'[study]\nname = "contract"\nkind = "{name}"\ntrials = 1\n[lut]\npath = "lut.csv"\n'
                    + MINIMAL[name])
    declared = [o.name for o in study_kind.objectives]

    config = load_study_config(path)
    assert [o.name for o in config.objectives] == declared

    study = run_study(config, f"sqlite:///{tmp_path}/studies.db", progress=False)
    (trial,) = study.get_trials(deepcopy=False)
    assert trial.state == TrialState.COMPLETE
    assert study.metric_names == declared
    assert len(trial.values) == len(declared) and all(math.isfinite(v) for v in trial.values)
    assert [trial.user_attrs[o] for o in declared] == pytest.approx(trial.values)
    baseline = {key[len(BASELINE_PREFIX):] for key in study.user_attrs if key.startswith(BASELINE_PREFIX)}
    assert set(declared) <= baseline
    assert {key for key in trial.user_attrs if key.startswith("test_accuracy")} <= baseline


@pytest.mark.parametrize("name", kind_names())
def test_kind_commands_build_and_run_something(name):
    """A kind's own commands join the command line, each with something to run."""
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    kind(name).add_commands(commands)
    for command in commands.choices.values():
        assert callable(command.get_default("run"))
