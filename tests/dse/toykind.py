"""A tiny analytic study kind for the dse tests (no torch), plus helpers that write LUTs and study files.

Importing this module registers the kind "toy" with `dse.kinds.register`, as a kind outside any package.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from characterize.lut.table import LUT_COLUMNS, Lut
from dse.kinds import Objective, StudyKind, register
from dse.schema import Field, Section, boolean, text

TOY_WEIGHTS = (-2, -1, 0, 1, 2)
SLEEP_S = 1.0


def make_lut(energy_fj: dict[int, float], area_um2: dict[int, float], delay_ps: dict[int, float],
             reference_critical_ps: float | None = None, activations: pd.DataFrame | None = None) -> Lut:
    """A LUT with hand-chosen energy, area and sensitized delay per weight (other columns filled plausibly)."""
    rows = []
    for w in sorted(energy_fj):
        rows.append({"weight": w, "mode": "stationary", "arch": "array", "bits": 4, "signed": True, "cells": 10,
                     "area_um2": area_um2[w], "critical_delay_ps": delay_ps[w] + 50.0,
                     "max_sensitized_delay_ps": delay_ps[w], "mean_sensitized_delay_ps": delay_ps[w] / 2,
                     "energy_per_op_fJ": energy_fj[w], "toggles_per_op": 1.0, "glitches_per_op": 0.0,
                     "leakage_nW": 1.0})
    if reference_critical_ps is not None:
        rows.append({**rows[0], "weight": np.nan, "critical_delay_ps": reference_critical_ps})
    return Lut(pd.DataFrame(rows, columns=list(LUT_COLUMNS)), activations, {"bits": 4, "signed": True})


def write_toy_lut(path: Path) -> Path:
    """A 5-weight LUT file for the toy kind."""
    lut = make_lut({w: 10.0 + 5 * abs(w) for w in TOY_WEIGHTS}, {w: 20.0 + w * w for w in TOY_WEIGHTS},
                   {w: 100.0 + 20 * abs(w) for w in TOY_WEIGHTS}, reference_critical_ps=200.0)
    lut.save(path)
    return path


def write_study(folder: Path, name: str = "toy-study", trials: int = 6, sampler: str = 'name = "random"',
                extra: str = "", space: str = "", objectives: str = "") -> Path:
    """A toy study file (and its LUT) in `folder`; returns the study file's path."""
    write_toy_lut(folder / "lut.csv")
    path = folder / f"{name}.toml"
    text = f'[study]\nname = "{name}"\nkind = "toy"\ntrials = {trials}\nseed = 3\n{extra}\n[sampler]\n{sampler}\n'
    if objectives:
        text += f"[objectives]\n{objectives}\n"
    path.write_text(text + f'[lut]\npath = "lut.csv"\n[space]\n{space}\n')
    return path


@register
class Toy(StudyKind):
    """x in [0, 1] and a weight w in -2..2: error falls with x and |w|, energy rises with them (from the LUT)."""

    name = "toy"
    objectives = (
        Objective("error", "minimize", "error (%)"),
        Objective("energy_nJ", "minimize", "energy per inference (nJ)"),
        Objective("score", "maximize", "score (a.u.)"),
    )

    space = Section({"sleep_while": Field(text, None), "discrete": Field(boolean, False)})

    @classmethod
    def grid_space(cls, settings: dict) -> dict[str, list] | None:
        return {"x": [0.0, 0.5, 1.0], "w": list(TOY_WEIGHTS)} if settings["discrete"] else None

    def __init__(self, settings: dict, context) -> None:
        self.settings = settings
        self.lut = context.lut

    def _metrics(self, x: float, w: int) -> dict[str, float]:
        energy = float(self.lut.column("energy_per_op_fJ", [w])[0]) * (1 + x)
        error = 10.0 * (1 - x) ** 2 + 4.0 / (1 + abs(w))
        return {"error": error, "energy_nJ": energy, "score": x * (3 - abs(w)), "error_increase": error - 2.0}

    def baseline(self) -> dict[str, float]:
        return self._metrics(1.0, 2)

    def evaluate(self, trial) -> dict[str, float]:
        flag = self.settings["sleep_while"]
        if flag and Path(flag).exists():
            time.sleep(SLEEP_S)
        x = trial.suggest_float("x", 0.0, 1.0)
        w = trial.suggest_int("w", -2, 2)
        return self._metrics(x, w)
