"""A package of someone else's, found only through its installed metadata, adds a study kind and a command to `dse`.

The package lives in a temporary folder with a `.dist-info` folder beside it, as
`pip install` leaves one in site-packages; nothing of ours names it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna

from tests.dse.toykind import TOY_WEIGHTS, write_toy_lut

PACKAGE = '''
from dse.kinds import Objective, StudyKind


class Acme(StudyKind):
    """Pick one weight value; its energy per operation is the objective."""

    name = "acme"
    objectives = (Objective("energy_fJ", "minimize", "energy per operation (fJ)"),)

    def __init__(self, settings, context):
        self.lut = context.lut

    def baseline(self):
        return {"energy_fJ": float(self.lut.weights["energy_per_op_fJ"].max())}

    def evaluate(self, trial):
        weight = trial.suggest_categorical("w", [int(w) for w in self.lut.weights.index])
        return {"energy_fJ": float(self.lut.column("energy_per_op_fJ", [weight])[0])}


def add_hello(commands):
    hello = commands.add_parser("acme-hello", help="greet from the acme package")
    hello.set_defaults(run=lambda args: print("hello from acme") or 0)
'''

ENTRY_POINTS = "[gatedse.study_kinds]\nacme = acme_dse:Acme\n\n[gatedse.commands]\nacme-hello = acme_dse:add_hello\n"


def _install(folder: Path) -> dict[str, str]:
    """The package and its metadata in `folder`; the environment of a process that has it installed."""
    (folder / "acme_dse").mkdir(parents=True)
    (folder / "acme_dse" / "__init__.py").write_text(PACKAGE)
    metadata = folder / "acme_dse-0.1.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-dse\nVersion: 0.1\n")
    (metadata / "entry_points.txt").write_text(ENTRY_POINTS)
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _dse(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dse.cli", *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_an_installed_package_adds_a_kind_and_a_command(tmp_path):
    env = _install(tmp_path / "site")
    work = tmp_path / "work"
    work.mkdir()
    write_toy_lut(work / "lut.csv")
    (work / "acme.toml").write_text('[study]\nname = "acme-study"\nkind = "acme"\ntrials = 4\nseed = 1\n'
                                    '[sampler]\nname = "random"\n[lut]\npath = "lut.csv"\n[space]\n')

    listed = _dse(env, work, "--help")
    assert listed.returncode == 0 and "acme-hello" in listed.stdout
    hello = _dse(env, work, "acme-hello")
    assert (hello.returncode, hello.stdout) == (0, "hello from acme\n")

    run = _dse(env, work, "study", "run", "acme.toml", "--storage", "sqlite:///studies.db", "--quiet")
    assert run.returncode == 0, run.stderr
    study = optuna.load_study(study_name="acme-study", storage=f"sqlite:///{work}/studies.db")
    energies = {10.0 + 5 * abs(w) for w in TOY_WEIGHTS}  # write_toy_lut's energy per weight
    assert len(study.trials) == 4 and all(t.values[0] in energies for t in study.trials)
    assert study.user_attrs["kind"] == "acme"

    without = _dse({**env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}, work, "study", "run", "acme.toml",
                   "--storage", "sqlite:///other.db")
    assert without.returncode == 2 and "unknown study kind 'acme'" in without.stderr
