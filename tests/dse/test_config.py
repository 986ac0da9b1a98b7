"""Study files: valid ones load; each kind of mistake is named by file, key path and reason."""

from __future__ import annotations

import re

import pytest

from dse.config import ConfigError, load_study_config
from dse.storage_urls import resolve_storage_url
from tests.dse.toykind import Toy

BASE = """
[study]
name = "s"
kind = "toy"
trials = 5
[lut]
path = "lut.csv"
"""


def write(tmp_path, text: str):
    (tmp_path / "lut.csv").touch()
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_study_config(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith(str(tmp_path / "study.toml") + ": ")
    assert "\n" not in message
    return message.split(": ", 1)[1]


def test_valid_file_loads_with_defaults_and_resolved_paths(tmp_path):
    config = load_study_config(write(tmp_path, BASE + """
[[constraints]]
metric = "error_increase"
max = 1.5
[objectives]
energy_nJ = "minimize"
error = "minimize"
"""))
    assert (config.name, config.kind, config.trials, config.seed, config.device) == ("s", "toy", 5, 0, "cpu")
    assert config.sampler.name == "nsga2" and config.storage is None
    assert [o.name for o in config.objectives] == ["energy_nJ", "error"]  # file order
    assert (config.constraints[0].metric, config.constraints[0].upper) == ("error_increase", True)
    assert config.constraints[0].violation(2.0) == pytest.approx(0.5)
    assert config.lut.path == tmp_path / "lut.csv"
    assert config.space == {"sleep_while": None, "discrete": False}


def test_objectives_default_to_all_of_the_kinds(tmp_path):
    config = load_study_config(write(tmp_path, BASE))
    assert [o.name for o in config.objectives] == ["error", "energy_nJ", "score"]


def test_relative_storage_is_anchored_at_the_study_file(tmp_path):
    config = load_study_config(write(tmp_path, BASE.replace('trials = 5', 'trials = 5\nstorage = "sqlite:///db/x.db"')))
    assert config.storage == f"sqlite:///{tmp_path}/db/x.db"
    assert resolve_storage_url("sqlite:////abs/x.db", tmp_path) == "sqlite:////abs/x.db"
    assert resolve_storage_url("postgresql://u@h/db", tmp_path) == "postgresql://u@h/db"
    assert resolve_storage_url("journal:///j.log", tmp_path) == f"journal:///{tmp_path}/j.log"
    assert resolve_storage_url("journal:/abs/j.log", tmp_path) == "journal:////abs/j.log"  # one slash: absolute


def test_negative_trials_message(tmp_path):
    assert error_of(tmp_path, BASE.replace("trials = 5", "trials = -3")) == (
        "study.trials: expected a positive integer, got -3"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("[lut]", '[lut]\ncolour = "red"'), r"^lut\.colour: unknown key \(expected one of: path, bits"),
        (("", '[[constraints]]\nmetric = "error"\nmaxx = 1'), r"^constraints\[0\]\.maxx: unknown key"),
        (("", '[sampler]\nname = "grid"\ngrid = { x = 3 }'), r"^sampler\.grid\.x: expected a non-empty list"),
        (("", "[extra]\na = 1"), r"^extra: unknown key"),
        (("trials = 5", 'trials = "ten"'), r"^study\.trials: expected a positive integer, got 'ten'$"),
        (("trials = 5", "trials = true"), r"^study\.trials: expected a positive integer, got true$"),
        (('name = "s"', "name = 3"), r"^study\.name: expected a non-empty string, got 3$"),
        (("", "[[constraints]]\nmetric = \"error\"\nmax = \"low\""), r"^constraints\[0\]\.max: expected a number"),
        (("", "[[constraints]]\nmetric = \"error\""), r"^constraints\[0\]: give exactly one of max or min$"),
        (('kind = "toy"', 'kind = "no-such-kind"'), r"^study\.kind: unknown study kind 'no-such-kind' \(known: .*toy"),
        (("", '[sampler]\nname = "cmaes"'),
         r"^sampler\.name: expected one of nsga2, nsga3, tpe, random, grid, got 'cmaes'$"),
        (("", '[sampler]\nname = "random"\npopulation = 8'), r"^sampler\.population: only for the nsga2 and nsga3"),
        (("", '[objectives]\nerror = "down"'), r"^objectives\.error: expected 'maximize' or 'minimize', got 'down'$"),
        (("", '[objectives]\nerror = "maximize"'), r"^objectives\.error: kind 'toy' can only minimize error"),
        (("", '[objectives]\naccuracy = "maximize"'), r"^objectives\.accuracy: kind 'toy' has no objective"),
        (("", "[space]\nepochs = 3"), r"^space\.epochs: unknown key \(expected one of: sleep_while, discrete\)$"),
        (("", "[study.extra]\na = 1"), r"^study\.extra: unknown key"),
        (("[lut]\npath = \"lut.csv\"", "[lut]\nbits = 4\narch = \"abacus\""), r"^lut\.arch: expected one of array"),
        (("[lut]\npath = \"lut.csv\"", "[lut]\nbits = 3\nweights = [1, 9]"),
         r"^lut\.weights\[1\]: expected an integer from -4 to 3"),
        (("[lut]\npath = \"lut.csv\"", "[lut]\npath = \"lut.csv\"\nbits = 4"), r"^lut\.bits: give either path or"),
        (("[lut]\npath = \"lut.csv\"", "[lut]\nbits = 4\nactivations = \"layer\""),
         r"^lut\.activations: expected one of uniform, per-layer, got 'layer'"),
        (("[lut]\npath = \"lut.csv\"", "[lut]\npath = \"lut.csv\"\nactivations = \"per-layer\""),
         r"^lut\.activations: 'per-layer' characterizes the multiplier again .* needs an inline characterization"),
        (("", "[cost]\nzero_skip = true"), r"^cost: kind 'toy' reads no \[cost\] table$"),
        (("[lut]\npath = \"lut.csv\"", "[lut]\nbits = 4\nactivations = \"per-layer\""),
         r"^lut\.activations: kind 'toy' prices every layer with the study's LUT"),
        (("trials = 5", 'trials = 5\ndevice = "gpu"'),
         r"^study\.device: expected cpu, cuda, cuda:N, mps or auto, got 'gpu'$"),
    ],
)
def test_errors_name_the_key_path_and_reason(tmp_path, change, expected):
    old, new = change
    text = BASE.replace(old, new, 1) if old else BASE + new + "\n"
    assert re.search(expected, error_of(tmp_path, text)), error_of(tmp_path, text)


def test_grid_sampler_needs_a_discrete_space(tmp_path):
    message = error_of(tmp_path, BASE + '[sampler]\nname = "grid"\n')
    assert message.startswith("sampler.grid: the grid sampler needs a discrete search space; kind 'toy' has none")
    discrete = load_study_config(write(tmp_path, BASE + '[sampler]\nname = "grid"\n[space]\ndiscrete = true\n'))
    assert discrete.sampler.grid == {"x": [0.0, 0.5, 1.0], "w": [-2, -1, 0, 1, 2]}
    given = load_study_config(write(tmp_path, BASE + '[sampler]\nname = "grid"\ngrid = { x = [0.25], w = [0] }\n'))
    assert given.sampler.grid == {"x": [0.25], "w": [0]}


def test_inline_characterization_is_validated_with_defaults(tmp_path):
    config = load_study_config(write(tmp_path, BASE.replace('path = "lut.csv"', "bits = 3\nvectors = 50")))
    assert config.lut.path is None
    assert config.lut.inline["weights"] == tuple(range(-4, 4))
    inline = config.lut.inline
    assert (inline["mode"], inline["arch"], inline["vectors"]) == ("stationary", "array", 50)
    assert inline["activations"] == "uniform"
    assert config.cost == {"zero_skip": False, "gated_energy_fJ": 0.0}


@pytest.mark.parametrize("cost, expected", [
    ("zero_skip = 1", r"^cost\.zero_skip: expected true or false"),
    ("gated_energy_fJ = -1", r"^cost\.gated_energy_fJ: expected a non-negative number, got -1$"),
])
def test_cost_table_errors_in_a_kind_that_reads_it(tmp_path, monkeypatch, cost, expected):
    monkeypatch.setattr(Toy, "layer_costs", True)
    assert re.search(expected, error_of(tmp_path, BASE + f"[cost]\n{cost}\n"))


def test_cost_table_sets_zero_skipping(tmp_path, monkeypatch):
    monkeypatch.setattr(Toy, "layer_costs", True)
    config = load_study_config(write(tmp_path, BASE + "[cost]\nzero_skip = true\ngated_energy_fJ = 12.5\n"))
    assert config.cost == {"zero_skip": True, "gated_energy_fJ": 12.5}


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="no such study file"):
        load_study_config(tmp_path / "absent.toml")
    assert "not valid TOML" in error_of(tmp_path, "[study\n")
    import sqlite3

    sqlite3.connect(tmp_path / "studies.db").execute("create table t (x blob)").connection.commit()
    with pytest.raises(ConfigError) as info:  # a storage given where a study file is expected
        load_study_config(tmp_path / "studies.db")
    assert str(info.value) == (f"{tmp_path}/studies.db: an SQLite storage, not a study file; name it with "
                               f"--storage sqlite:///{tmp_path}/studies.db")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="binary.toml: not a study file .TOML text.: 'utf-8' codec"):
        load_study_config(tmp_path / "binary.toml")


def test_a_missing_lut_file_fails_at_load(tmp_path):
    path = write(tmp_path, BASE.replace('path = "lut.csv"', 'path = "luts/absent.csv"'))
    assert error_of(tmp_path, path.read_text()) == f"lut.path: no such LUT file: {tmp_path / 'luts' / 'absent.csv'}"


def test_lut_missing_policy(tmp_path):
    assert load_study_config(write(tmp_path, BASE)).lut.missing == "error"
    nearest = BASE.replace('path = "lut.csv"', 'path = "lut.csv"\nmissing = "nearest"')
    assert load_study_config(write(tmp_path, nearest)).lut.missing == "nearest"
    inline = BASE.replace('path = "lut.csv"', 'bits = 3\nmissing = "nearest"')
    config = load_study_config(write(tmp_path, inline))
    assert config.lut.missing == "nearest" and "missing" not in config.lut.inline
    with pytest.raises(ConfigError, match=r"lut\.missing: expected one of error, nearest"):
        load_study_config(write(tmp_path, BASE.replace('path = "lut.csv"', 'path = "lut.csv"\nmissing = "guess"')))
