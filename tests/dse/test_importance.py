"""Parameter importance per objective: the parameter that drives an objective ranks first."""

from __future__ import annotations

import pytest

from dse.cli import main
from dse.config import load_study_config
from dse.errors import DseError
from dse.importance import parameter_importances
from dse.runner import run_study
from tests.dse.toykind import write_study


def test_the_driving_parameter_ranks_first(tmp_path):
    study = run_study(load_study_config(write_study(tmp_path, trials=30)), f"sqlite:///{tmp_path}/s.db", progress=False)
    importances = parameter_importances(study)
    assert set(importances) == {"error", "energy_nJ", "score"}
    # error = 10 (1 - x)^2 + 4 / (1 + |w|): x spans 10 units of it, w less than 3
    assert importances["error"]["x"] > importances["error"]["w"]
    for values in importances.values():
        assert sum(values.values()) == pytest.approx(1.0)


def test_importance_figure_from_the_command_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/s.db"
    run_study(load_study_config(write_study(tmp_path, trials=8)), url, progress=False)
    figure = tmp_path / "importance.svg"
    assert main(["pareto", "toy-study", "--storage", url, "-o", str(tmp_path / "f.png"), "--importance", str(figure)]) == 0
    assert figure.read_text().startswith("<?xml")
    assert "importance.svg" in capsys.readouterr().out


def test_too_few_trials_is_a_clear_error(tmp_path):
    study = run_study(load_study_config(write_study(tmp_path, trials=2)), f"sqlite:///{tmp_path}/s.db", progress=False)
    with pytest.raises(DseError, match="at least 3 completed trials"):
        parameter_importances(study)
